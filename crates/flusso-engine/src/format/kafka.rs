//! KAFKA: Kafka's primitive serializers — INT 4 bytes and BIGINT 8 bytes big-endian, DOUBLE 8
//! bytes IEEE 754, STRING UTF-8, BYTES as they are.

use datafusion::common::ScalarValue;

use crate::types::SqlType;
use crate::value::null_of;

pub(super) fn decode(
    bytes: &[u8],
    columns: &[(String, SqlType)],
) -> Result<Vec<ScalarValue>, String> {
    let Some((_, t)) = columns.first() else {
        return Ok(vec![]);
    };
    let fixed = |n: usize, what: &str| -> Result<(), String> {
        if bytes.len() == n {
            Ok(())
        } else {
            Err(format!(
                "Size of data received by {what}Deserializer is not {n}"
            ))
        }
    };
    let v = match t {
        SqlType::Int => {
            fixed(4, "Integer")?;
            ScalarValue::Int32(Some(i32::from_be_bytes(
                bytes.try_into().map_err(|_| "size")?,
            )))
        }
        SqlType::Bigint => {
            fixed(8, "Long")?;
            ScalarValue::Int64(Some(i64::from_be_bytes(
                bytes.try_into().map_err(|_| "size")?,
            )))
        }
        SqlType::Double => {
            fixed(8, "Double")?;
            ScalarValue::Float64(Some(f64::from_be_bytes(
                bytes.try_into().map_err(|_| "size")?,
            )))
        }
        SqlType::String => ScalarValue::Utf8(Some(
            String::from_utf8(bytes.to_vec()).map_err(|e| format!("invalid UTF-8: {e}"))?,
        )),
        SqlType::Bytes => ScalarValue::Binary(Some(bytes.to_vec())),
        other => {
            let _ = null_of(other);
            return Err(format!(
                "The 'KAFKA' format does not support type '{other}'"
            ));
        }
    };
    Ok(vec![v])
}

pub(super) fn encode(values: &[ScalarValue]) -> Result<Option<Vec<u8>>, String> {
    let Some(v) = values.first() else {
        return Ok(None);
    };
    Ok(match v {
        ScalarValue::Int32(Some(i)) => Some(i.to_be_bytes().to_vec()),
        ScalarValue::Int64(Some(i)) => Some(i.to_be_bytes().to_vec()),
        ScalarValue::Float64(Some(f)) => Some(f.to_be_bytes().to_vec()),
        ScalarValue::Utf8(Some(s)) => Some(s.as_bytes().to_vec()),
        ScalarValue::Binary(Some(b)) => Some(b.clone()),
        v if v.is_null() => None,
        other => return Err(format!("The 'KAFKA' format cannot write {other:?}")),
    })
}

//! Loading ksqlDB's QTT files (JSON with comments, exact numbers) and expanding each case into
//! its variants (case × format × config), named as ksqlDB names its tests.

use std::path::Path;

use serde_json::Value as Json;

/// One runnable variant.
#[derive(Debug, Clone)]
pub struct Variant {
    /// `<file> - <case>[ - <format>][ - <config>]`.
    pub name: String,
    /// File stem.
    pub file: String,
    /// Statements with `{FORMAT}` substituted.
    pub statements: Vec<String>,
    /// ksql properties.
    pub properties: Vec<(String, String)>,
    /// The case, with substitutions applied.
    pub case: Json,
    /// Why the variant cannot run (needs a schema registry).
    pub skip: Option<String>,
}

/// Removes `// ...` and `/* ... */` comments outside strings.
pub fn strip_comments(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    while i < b.len() {
        let c = b[i];
        if in_string {
            out.push(c);
            if c == '\\' && i + 1 < b.len() {
                out.push(b[i + 1]);
                i += 2;
                continue;
            }
            if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
            i += 1;
        } else if c == '/' && i + 1 < b.len() && b[i + 1] == '/' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && i + 1 < b.len() && b[i + 1] == '*' {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

const SR_FORMATS: [&str; 3] = ["AVRO", "PROTOBUF", "JSON_SR"];

fn needs_registry(case: &Json, statements: &[String]) -> Option<String> {
    let re = regex::Regex::new(r"(?i)(?:value_format|key_format|format)\s*=\s*'([A-Z_]+)'").ok()?;
    for s in statements {
        for cap in re.captures_iter(s) {
            let f = cap[1].to_uppercase();
            if SR_FORMATS.contains(&f.as_str()) {
                return Some(format!("format {f} needs a schema registry"));
            }
        }
    }
    if let Some(props) = case.get("properties").and_then(|p| p.as_object()) {
        for (k, v) in props {
            if k.starts_with("ksql.persistence.default.format") {
                let f = v.as_str().unwrap_or("").to_uppercase();
                if SR_FORMATS.contains(&f.as_str()) {
                    return Some(format!("default format {f} needs a schema registry"));
                }
            }
        }
    }
    if let Some(topics) = case.get("topics").and_then(|t| t.as_array()) {
        for t in topics {
            for key in ["valueSchema", "keySchema", "valueSchemaId", "keySchemaId"] {
                if t.get(key).is_some() {
                    return Some("topic declares a registry schema".into());
                }
            }
            for key in ["valueFormat", "keyFormat"] {
                if let Some(f) = t.get(key).and_then(|f| f.as_str()) {
                    if SR_FORMATS.contains(&f.to_uppercase().as_str()) {
                        return Some(format!("topic format {f} needs a schema registry"));
                    }
                }
            }
        }
    }
    None
}

fn substitute(v: &Json, from: &str, to: &str) -> Json {
    match v {
        Json::String(s) => Json::String(s.replace(from, to)),
        Json::Array(a) => Json::Array(a.iter().map(|x| substitute(x, from, to)).collect()),
        Json::Object(o) => Json::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, from, to)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Loads one file's variants.
pub fn load_file(path: &Path) -> Result<Vec<Variant>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Json = serde_json::from_str(&strip_comments(&text))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let file = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    let Some(tests) = json.get("tests").and_then(|t| t.as_array()) else {
        return Ok(out);
    };
    for case in tests {
        if case.get("enabled").and_then(|e| e.as_bool()) == Some(false) {
            continue;
        }
        let name = case.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let formats: Vec<Option<String>> = match case.get("format").and_then(|f| f.as_array()) {
            Some(f) if !f.is_empty() => f.iter().map(|x| x.as_str().map(String::from)).collect(),
            _ => vec![None],
        };
        let configs: Vec<Option<String>> = match case.get("config").and_then(|f| f.as_array()) {
            Some(f) if !f.is_empty() => f
                .iter()
                .map(|x| {
                    Some(
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string()),
                    )
                })
                .collect(),
            _ => vec![None],
        };
        for format in &formats {
            for config in &configs {
                let mut c = case.clone();
                let mut vname = format!("{file} - {name}");
                if let Some(f) = format {
                    c = substitute(&c, "{FORMAT}", f);
                    vname.push_str(&format!(" - {f}"));
                }
                if let Some(cfg) = config {
                    c = substitute(&c, "{CONFIG}", cfg);
                    vname.push_str(&format!(" - {cfg}"));
                }
                let statements: Vec<String> = c
                    .get("statements")
                    .and_then(|s| s.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let properties = c
                    .get("properties")
                    .and_then(|p| p.as_object())
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str()
                                        .map(String::from)
                                        .unwrap_or_else(|| v.to_string()),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let skip = needs_registry(&c, &statements);
                out.push(Variant {
                    name: vname,
                    file: file.clone(),
                    statements,
                    properties,
                    case: c,
                    skip,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_comments_outside_strings() {
        let s = super::strip_comments("{\"a\": \"http://x\" // c\n, /* b */ \"b\": 1}");
        assert_eq!(s, "{\"a\": \"http://x\" \n,  \"b\": 1}");
    }
}

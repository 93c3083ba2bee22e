//! Functions added by the program that embeds the engine (and by the conformance runner, for
//! ksqlDB's test functions): DataFusion scalar UDFs called by name from SQL, looked up before
//! the built-ins.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use datafusion::logical_expr::ScalarUDF;
use parking_lot::RwLock;

fn registry() -> &'static RwLock<HashMap<String, Arc<ScalarUDF>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Arc<ScalarUDF>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Makes `udf` callable from SQL as `name` (case-insensitive) in every engine of the process.
pub fn register_function(name: &str, udf: ScalarUDF) {
    registry()
        .write()
        .insert(name.to_uppercase(), Arc::new(udf));
}

/// A registered function.
pub(crate) fn lookup(name: &str) -> Option<Arc<ScalarUDF>> {
    registry().read().get(name).cloned()
}

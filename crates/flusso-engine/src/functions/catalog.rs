//! The variants of every function Flusso runs, for `DESCRIBE FUNCTION` and `SHOW FUNCTIONS`:
//! per function its category and overview, per variant its arguments (name, SQL type, whether
//! variadic, description), return type and description.
//!
//! Names, types and texts are those ksqlDB declares for the same functions (types spelled as
//! ksqlDB prints them: `VARCHAR`, `ARRAY<T>`, `MAP<K, V>`, generic `T`, `INTERVAL UNIT`,
//! `LAMBDA (T) => R`; an aggregate's column arguments named `val1`, `val2`, ...), so clients
//! see what they would from ksqlDB. Only the variants Flusso accepts are listed; the tests
//! plan every scalar and aggregate variant to keep the two in step.

/// What kind of function: how it is called and what `DESCRIBE FUNCTION` reports as its `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One value per row.
    Scalar,
    /// One value per group (`GROUP BY`).
    Aggregate,
    /// Several rows per row (`EXPLODE`).
    Table,
}

impl Kind {
    /// ksqlDB's name for the kind.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Scalar => "SCALAR",
            Kind::Aggregate => "AGGREGATE",
            Kind::Table => "TABLE",
        }
    }
}

/// A function and its variants.
#[derive(Debug)]
pub(crate) struct Function {
    /// Upper case.
    pub(crate) name: &'static str,
    /// ksqlDB's category (`STRING`, `DATE / TIME`, ...), shown by `SHOW FUNCTIONS`.
    pub(crate) category: &'static str,
    /// What the function does.
    pub(crate) description: &'static str,
    /// Its signatures.
    pub(crate) variants: &'static [Variant],
}

/// One signature of a function.
#[derive(Debug)]
pub(crate) struct Variant {
    pub(crate) args: &'static [Arg],
    /// The declared return type (generic types unresolved).
    pub(crate) returns: &'static str,
    pub(crate) description: &'static str,
}

/// One argument of a variant.
#[derive(Debug)]
pub(crate) struct Arg {
    pub(crate) name: &'static str,
    /// The SQL type; for a variadic argument, the type of each value.
    pub(crate) sql_type: &'static str,
    pub(crate) description: &'static str,
    /// Whether the argument takes any number of values (at most one per variant).
    pub(crate) variadic: bool,
}

/// The function called `name` (upper case) and its kind.
pub(crate) fn lookup(name: &str) -> Option<(Kind, &'static Function)> {
    [
        (Kind::Scalar, SCALAR),
        (Kind::Aggregate, AGGREGATE),
        (Kind::Table, TABLE),
    ]
    .into_iter()
    .find_map(|(kind, list)| list.iter().find(|f| f.name == name).map(|f| (kind, f)))
}

/// Every catalogued function with its kind.
pub(crate) fn all() -> impl Iterator<Item = (Kind, &'static Function)> {
    let of = |kind: Kind, list: &'static [Function]| list.iter().map(move |f| (kind, f));
    of(Kind::Scalar, SCALAR)
        .chain(of(Kind::Aggregate, AGGREGATE))
        .chain(of(Kind::Table, TABLE))
}

const fn f(
    name: &'static str,
    category: &'static str,
    description: &'static str,
    variants: &'static [Variant],
) -> Function {
    Function {
        name,
        category,
        description,
        variants,
    }
}

const fn v(returns: &'static str, args: &'static [Arg]) -> Variant {
    Variant {
        args,
        returns,
        description: "",
    }
}

const fn a(name: &'static str, sql_type: &'static str) -> Arg {
    Arg {
        name,
        sql_type,
        description: "",
        variadic: false,
    }
}

impl Variant {
    const fn doc(self, description: &'static str) -> Variant {
        Variant {
            description,
            ..self
        }
    }
}

impl Arg {
    const fn doc(self, description: &'static str) -> Arg {
        Arg {
            description,
            ..self
        }
    }

    const fn variadic(self) -> Arg {
        Arg {
            variadic: true,
            ..self
        }
    }
}

// ksqlDB's function categories.
const AGGREGATE_CATEGORY: &str = "AGGREGATE";
const ARRAY: &str = "ARRAY";
const CONDITIONAL: &str = "CONDITIONAL";
const DATE_TIME: &str = "DATE / TIME";
const JSON: &str = "JSON";
const LAMBDA: &str = "LAMBDA";
const MAP: &str = "MAP";
const MATHEMATICAL: &str = "MATHEMATICAL";
const OTHER: &str = "OTHER";
const REGULAR_EXPRESSION: &str = "REGULAR EXPRESSION";
const STRING: &str = "STRING";
const TABLE_CATEGORY: &str = "TABLE";
const URL: &str = "URL";

#[rustfmt::skip]
pub(crate) static SCALAR: &[Function] = &[
    f("ABS", MATHEMATICAL,
        "Returns the absolute value of its argument. If the argument is not negative, the \
         argument is returned. If the argument is negative, the negation of the argument is \
         returned.",
        &[
            v("INT", &[a("val", "INT")]),
            v("BIGINT", &[a("val", "BIGINT")]),
            v("DOUBLE", &[a("val", "DOUBLE")]),
            v("DECIMAL", &[a("val", "DECIMAL")]),
        ]),
    f("ACOS", MATHEMATICAL,
        "The inverse (arc) cosine of a value. The returned value is in radians.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value to get the inverse cosine of.")])
                .doc("Returns the inverse (arc) cosine of an INT value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value to get the inverse cosine of.")])
                .doc("Returns the inverse (arc) cosine of a BIGINT value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value to get the inverse cosine of.")])
                .doc("Returns the inverse (arc) cosine of a DOUBLE value"),
        ]),
    f("ARRAY_CONCAT", ARRAY,
        "Concatenates two arrays, creating an array that contains all the elements in the first \
         array followed by all the elements in the second array. Returns NULL if both input \
         arrays are NULL. If only one argument is NULL, the result is the other argument. The two \
         arrays must be of the same type.",
        &[
            v("ARRAY<T>", &[
                a("left", "ARRAY<T>").doc("First array of values"),
                a("right", "ARRAY<T>").doc("Second array of values"),
            ]),
        ]),
    f("ARRAY_CONTAINS", ARRAY,
        "Returns true if the array is non-null and contains the supplied value.",
        &[
            v("BOOLEAN", &[a("array", "ARRAY<T>"), a("val", "T")]),
        ]),
    f("ARRAY_DISTINCT", ARRAY,
        "Returns an array of all the distinct values, including NULL if present, from the input \
         array. The output array elements will be in order of their first occurrence in the \
         input. Returns NULL if the input array is NULL.",
        &[
            v("ARRAY<T>", &[a("input", "ARRAY<T>").doc("Array of values to distinct")]),
        ]),
    f("ARRAY_EXCEPT", ARRAY,
        "Returns an array of all the elements in an array except for those also present in a \
         second array. The order of entries in the first array is preserved although any \
         duplicates are removed. Returns NULL if either input is NULL.",
        &[
            v("ARRAY<T>", &[
                a("left", "ARRAY<T>").doc("Array of values"),
                a("right", "ARRAY<T>").doc("Array of exceptions"),
            ]),
        ]),
    f("ARRAY_INTERSECT", ARRAY,
        "Returns an array of all the distinct elements from the intersection of both input \
         arrays, or NULL if either input array is NULL. The order of entries in the output is the \
         same as in the first input array.",
        &[
            v("ARRAY<T>", &[
                a("left", "ARRAY<T>").doc("First array of values"),
                a("right", "ARRAY<T>").doc("Second array of values"),
            ]),
        ]),
    f("ARRAY_JOIN", ARRAY,
        "joins the array elements into a flat string representation",
        &[
            v("VARCHAR", &[
                a("array", "ARRAY<T>").doc("the array to join using the default delimiter ','"),
            ]),
            v("VARCHAR", &[
                a("array", "ARRAY<T>").doc("the array to join using the specified delimiter"),
                a("delimiter", "VARCHAR").doc("the string to be used as element delimiter"),
            ]),
        ]),
    f("ARRAY_LENGTH", ARRAY,
        "Returns the length on an array",
        &[
            v("INT", &[a("array", "ARRAY<T>").doc("The array")]),
        ]),
    f("ARRAY_MAX", ARRAY,
        "Return the maximum value from within an array of primitive values, according to their \
         natural sort order. If the array is NULL, or contains only NULLs, return NULL.",
        &[
            v("T", &[a("input", "ARRAY<T>").doc("Array of values from which to find the maximum")]),
        ]),
    f("ARRAY_MIN", ARRAY,
        "Return the minimum value from within an array of primitive values, according to their \
         natural sort order. If the array is NULL, or contains only NULLs, return NULL.",
        &[
            v("T", &[a("input", "ARRAY<T>").doc("Array of values from which to find the minimum")]),
        ]),
    f("ARRAY_REMOVE", ARRAY,
        "Removes all the elements equal to a specific value from an array. Returns NULL if the \
         input array is NULL.",
        &[
            v("ARRAY<T>", &[
                a("array", "ARRAY<T>").doc("Array of values"),
                a("victim", "T").doc("Value to remove"),
            ]),
        ]),
    f("ARRAY_SORT", ARRAY,
        "Sort an array of primitive values, according to their natural sort order. Any NULLs in \
         the array will be placed at the end.",
        &[
            v("ARRAY<T>", &[a("input", "ARRAY<T>").doc("The array to sort")]),
            v("ARRAY<T>", &[
                a("input", "ARRAY<T>").doc("The array to sort"),
                a("direction", "VARCHAR").doc("Marks the end of the series (inclusive)"),
            ]),
        ]),
    f("ASIN", MATHEMATICAL,
        "The inverse (arc) sine of a value. The returned value is in radians.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value to get the inverse sine of.")])
                .doc("Returns the inverse (arc) sine of an INT value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value to get the inverse sine of.")])
                .doc("Returns the inverse (arc) sine of a BIGINT value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value to get the inverse sine of.")])
                .doc("Returns the inverse (arc) sine of a DOUBLE value"),
        ]),
    f("AS_MAP", MAP,
        "Construct a list based on some inputs",
        &[
            v("MAP<VARCHAR, T>", &[a("keys", "ARRAY<VARCHAR>"), a("values", "ARRAY<T>")]),
        ]),
    f("ATAN", MATHEMATICAL,
        "The inverse (arc) tangent of a value. The returned value is in radians.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value to get the inverse tangent of.")])
                .doc("Returns the inverse (arc) tangent of an INT value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value to get the inverse tangent of.")])
                .doc("Returns the inverse (arc) tangent of a BIGINT value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value to get the inverse tangent of.")])
                .doc("Returns the inverse (arc) tangent of a DOUBLE value"),
        ]),
    f("ATAN2", MATHEMATICAL,
        "The inverse (arc) tangent of y / x. This is equivalent to the angle theta when Cartesian \
         coordinates (x, y) are converted to polar coordinates (radius, theta). The returned \
         value is in radians.",
        &[
            v("DOUBLE", &[
                a("y", "INT").doc("The ordinate (y) coordinate."),
                a("x", "INT").doc("The abscissa (x) coordinate."),
            ]).doc("Returns the inverse (arc) tangent of y / x"),
            v("DOUBLE", &[
                a("y", "BIGINT").doc("The ordinate (y) coordinate."),
                a("x", "BIGINT").doc("The abscissa (x) coordinate."),
            ]).doc("Returns the inverse (arc) tangent of y / x"),
            v("DOUBLE", &[
                a("y", "DOUBLE").doc("The ordinate (y) coordinate."),
                a("x", "DOUBLE").doc("The abscissa (x) coordinate."),
            ]).doc("Returns the inverse (arc) tangent of y / x"),
        ]),
    f("CBRT", MATHEMATICAL,
        "The cube root of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value to get the cube root of.")])
                .doc("Returns the cube root of an INT value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value to get the cube root of.")])
                .doc("Returns the cube root of a BIGINT value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value to get the cube root of.")])
                .doc("Returns the cube root of a DOUBLE value"),
        ]),
    f("CEIL", MATHEMATICAL,
        "Returns the smallest integer greater than or equal to the specified numeric expression.",
        &[
            v("INT", &[a("val", "INT")]),
            v("BIGINT", &[a("val", "BIGINT")]),
            v("DOUBLE", &[a("val", "DOUBLE")]),
            v("DECIMAL", &[a("val", "DECIMAL")]),
        ]),
    f("CHR", STRING,
        "Returns a single-character string corresponding to the input character code.",
        &[
            v("VARCHAR", &[a("decimalCode", "INT").doc("Decimal codepoint")]),
            v("VARCHAR", &[
                a("utf16Code", "VARCHAR")
                    .doc("UTF16 code for the desired character e.g. '\\u004b'"),
            ]),
        ]),
    f("COALESCE", CONDITIONAL,
        "Returns first non-null element",
        &[
            v("T", &[a("first", "T"), a("others", "T").variadic()]),
        ]),
    f("CONCAT", STRING,
        "Concatenate an arbitrary number of string or bytes fields together",
        &[
            v("VARCHAR", &[
                a("inputs", "VARCHAR").variadic().doc("The varchar fields to concatenate"),
            ]),
            v("BYTES", &[a("inputs", "BYTES").variadic().doc("The bytes fields to concatenate")]),
        ]),
    f("CONCAT_WS", STRING,
        "Concatenate several strings or bytes, inserting a separator passed as the first argument \
         between each one.",
        &[
            v("VARCHAR", &[
                a("inputs", "VARCHAR").variadic().doc("Separator string and values to join"),
            ]),
            v("BYTES", &[
                a("inputs", "BYTES").variadic().doc("Separator and bytes values to join"),
            ]),
        ]),
    f("CONVERT_TZ", DATE_TIME,
        "Converts a TIMESTAMP value from one timezone to another.",
        &[
            v("TIMESTAMP", &[
                a("timestamp", "TIMESTAMP").doc("The TIMESTAMP value."),
                a("fromTimeZone", "VARCHAR")
                    .doc("The fromTimeZone in java.util.TimeZone ID format. For example: \"UTC\", \
                          \"America/Los_Angeles\", \"PST\", \"Europe/London\""),
                a("toTimeZone", "VARCHAR")
                    .doc("The toTimeZone in java.util.TimeZone ID format. For example: \"UTC\", \
                          \"America/Los_Angeles\", \"PST\", \"Europe/London\""),
            ]).doc("Converts a TIMESTAMP value from one timezone to another"),
        ]),
    f("COS", MATHEMATICAL,
        "The cosine of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value in radians to get the cosine of.")])
                .doc("Returns the cosine of an INT value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value in radians to get the cosine of.")])
                .doc("Returns the cosine of a BIGINT value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value in radians to get the cosine of.")])
                .doc("Returns the cosine of a DOUBLE value"),
        ]),
    f("COSH", MATHEMATICAL,
        "The hyperbolic cosine of a value.",
        &[
            v("DOUBLE", &[
                a("value", "INT").doc("The value in radians to get the hyperbolic cosine of."),
            ]).doc("Returns the hyperbolic cosine of an INT value"),
            v("DOUBLE", &[
                a("value", "BIGINT").doc("The value in radians to get the hyperbolic cosine of."),
            ]).doc("Returns the hyperbolic cosine of a BIGINT value"),
            v("DOUBLE", &[
                a("value", "DOUBLE").doc("The value in radians to get the hyperbolic cosine of."),
            ]).doc("Returns the hyperbolic cosine of a DOUBLE value"),
        ]),
    f("COT", MATHEMATICAL,
        "The cotangent of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value in radians to get the cotangent of.")])
                .doc("Returns the cotangent of an INT value"),
            v("DOUBLE", &[
                a("value", "BIGINT").doc("The value in radians to get the cotangent of."),
            ]).doc("Returns the cotangent of a BIGINT value"),
            v("DOUBLE", &[
                a("value", "DOUBLE").doc("The value in radians to get the cotangent of."),
            ]).doc("Returns the cotangent of a DOUBLE value"),
        ]),
    f("DATEADD", DATE_TIME,
        "Adds a duration to a DATE value.",
        &[
            v("DATE", &[
                a("unit", "INTERVAL UNIT").doc("A unit of time, for example DAY"),
                a("interval", "INT").doc("An integer number of intervals to add"),
                a("date", "DATE").doc("A DATE value."),
            ]).doc("Adds a duration to a date"),
        ]),
    f("DATESUB", DATE_TIME,
        "Subtracts a duration from a DATE value.",
        &[
            v("DATE", &[
                a("unit", "INTERVAL UNIT").doc("A unit of time, for example DAY"),
                a("interval", "INT").doc("An integer number of intervals to subtract"),
                a("date", "DATE").doc("A DATE value."),
            ]).doc("Subtracts a duration from a date"),
        ]),
    f("DATETOSTRING", DATE_TIME,
        "Converts the number of days since 1970-01-01 00:00:00 UTC/GMT to a date string using the \
         given format pattern. Note this is the format Kafka Connect uses to represent dates with \
         no time component.  The format pattern should be in the format expected by \
         java.time.format.DateTimeFormatter. The system default time zone is used when no time \
         zone is explicitly provided.",
        &[
            v("VARCHAR", &[
                a("epochDays", "INT")
                    .doc("The Epoch Day to convert, based on the epoch 1970-01-01"),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts the number of days since 1970-01-01 00:00:00 UTC/GMT to a date \
                    string using the given format pattern. The format pattern should be in the \
                    format expected by java.time.format.DateTimeFormatter"),
        ]),
    f("DEGREES", MATHEMATICAL,
        "Converts a value in radians to a value in degrees.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value in radians to convert to degrees.")])
                .doc("Converts an INT value in radians to a value in degrees"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value in radians to convert to degrees.")])
                .doc("Converts a BIGINT value in radians to a value in degrees"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value in radians to convert to degrees.")])
                .doc("Converts a DOUBLE value in radians to a value in degrees"),
        ]),
    f("ELT", STRING,
        "ELT() returns the Nth element of the list of strings. Returns NULL if N is less than 1 \
         or greater than the number of arguments. Note that this method is 1-indexed. This is the \
         complement to FIELD.",
        &[
            v("VARCHAR", &[
                a("n", "INT").doc("the nth element to extract"),
                a("args", "VARCHAR").variadic().doc("the strings of which to extract the nth"),
            ]),
        ]),
    f("ENCODE", STRING,
        "Takes an input string s, which is encoded as input_encoding, and encodes it as \
         output_encoding. The accepted input and output encodings are: hex, utf8, ascii and \
         base64. Throws exception if provided encodings are not supported.",
        &[
            v("VARCHAR", &[
                a("str", "VARCHAR").doc("The source string. If null, then function returns null."),
                a("inputEncoding", "VARCHAR")
                    .doc("The input encoding. If null, then function returns null."),
                a("outputEncoding", "VARCHAR")
                    .doc("The output encoding. If null, then function returns null."),
            ]).doc("Returns a new string encoded using the outputEncoding "),
        ]),
    f("ENTRIES", MAP,
        "Construct an array from the entries in a map.The array can be optionally sorted on the \
         keys.",
        &[
            v("ARRAY<STRUCT<K VARCHAR, V INT>>", &[
                a("map", "MAP<VARCHAR, INT>").doc("The map to create entries from"),
                a("sorted", "BOOLEAN").doc("If true then the resulting entries are sorted by key"),
            ]),
            v("ARRAY<STRUCT<K VARCHAR, V BIGINT>>", &[
                a("map", "MAP<VARCHAR, BIGINT>").doc("The map to create entries from"),
                a("sorted", "BOOLEAN").doc("If true then the resulting entries are sorted by key"),
            ]),
            v("ARRAY<STRUCT<K VARCHAR, V DOUBLE>>", &[
                a("map", "MAP<VARCHAR, DOUBLE>").doc("The map to create entries from"),
                a("sorted", "BOOLEAN").doc("If true then the resulting entries are sorted by key"),
            ]),
            v("ARRAY<STRUCT<K VARCHAR, V BOOLEAN>>", &[
                a("map", "MAP<VARCHAR, BOOLEAN>").doc("The map to create entries from"),
                a("sorted", "BOOLEAN").doc("If true then the resulting entries are sorted by key"),
            ]),
            v("ARRAY<STRUCT<K VARCHAR, V VARCHAR>>", &[
                a("map", "MAP<VARCHAR, VARCHAR>").doc("The map to create entries from"),
                a("sorted", "BOOLEAN").doc("If true then the resulting entries are sorted by key"),
            ]),
        ]),
    f("EXP", MATHEMATICAL,
        "The exponential of a value.",
        &[
            v("DOUBLE", &[a("exponent", "INT").doc("the exponent to raise e to.")])
                .doc("Returns Euler's number e raised to the power of an INT value."),
            v("DOUBLE", &[a("exponent", "BIGINT").doc("the exponent to raise e to.")])
                .doc("Returns Euler's number e raised to the power of a BIGINT value."),
            v("DOUBLE", &[a("exponent", "DOUBLE").doc("the exponent to raise e to.")])
                .doc("Returns Euler's number e raised to the power of a DOUBLE value."),
        ]),
    f("EXTRACTJSONFIELD", JSON,
        "Given a STRING that contains JSON data, extract the value at the specified  JSONPath or \
         NULL if the specified path does not exist.",
        &[
            v("VARCHAR", &[
                a("input", "VARCHAR").doc("The input JSON string"),
                a("path", "VARCHAR").doc("The JSONPath to extract"),
            ]),
        ]),
    f("FIELD", STRING,
        "Returns the position (1-indexed) of str in args, or 0 if not found. If str is NULL, the \
         return value is 0 because NULL is not considered equal to any value. This is the \
         compliment to ELT.",
        &[
            v("INT", &[a("str", "VARCHAR"), a("args", "VARCHAR").variadic()]),
        ]),
    f("FILTER", LAMBDA,
        "Filter the input collection through a given lambda function. The filtered collection is \
         returned.",
        &[
            v("ARRAY<T>", &[
                a("array", "ARRAY<T>").doc("The array"),
                a("function", "LAMBDA (T) => BOOLEAN").doc("The lambda function"),
            ]).doc("When filtering an array, the function provided must have a boolean result. \
                    The function is applied to each value in the array and a filtered array is \
                    returned."),
        ]),
    f("FLOOR", MATHEMATICAL,
        "Returns the largest integer less than or equal to the specified numeric expression.",
        &[
            v("INT", &[a("val", "INT")]),
            v("BIGINT", &[a("val", "BIGINT")]),
            v("DOUBLE", &[a("val", "DOUBLE")]),
            v("DECIMAL", &[a("val", "DECIMAL")]),
        ]),
    f("FORMAT_DATE", DATE_TIME,
        "Converts a DATE value to a string using the given format pattern. The format pattern \
         should be in the format expected by java.time.format.DateTimeFormatter.",
        &[
            v("VARCHAR", &[
                a("date", "DATE").doc("The date to convert"),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts the number of days since 1970-01-01 00:00:00 UTC/GMT to a date \
                    string using the given format pattern. The format pattern should be in the \
                    format expected by java.time.format.DateTimeFormatter"),
        ]),
    f("FORMAT_TIME", DATE_TIME,
        "Converts a TIME value into the string representation of the time in the given format.",
        &[
            v("VARCHAR", &[
                a("time", "TIME").doc("TIME value."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts a TIME value into the string representation of the time in the given \
                    format. The format pattern should be in the format expected by \
                    java.time.format.DateTimeFormatter"),
        ]),
    f("FORMAT_TIMESTAMP", DATE_TIME,
        "Converts a TIMESTAMP value into the string representation of the timestamp in the given \
         format.",
        &[
            v("VARCHAR", &[
                a("timestamp", "TIMESTAMP").doc("TIMESTAMP value."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts a TIMESTAMP value into the string representation of the timestamp in \
                    the given format. Single quotes in the timestamp format can be escaped with \
                    '', for example: 'yyyy-MM-dd''T''HH:mm:ssX' The system default time zone is \
                    used when no time zone is explicitly provided. The format pattern should be \
                    in the format expected by java.time.format.DateTimeFormatter"),
            v("VARCHAR", &[
                a("timestamp", "TIMESTAMP").doc("TIMESTAMP value."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
                a("timeZone", "VARCHAR")
                    .doc(" timeZone is a java.util.TimeZone ID format, for example: \"UTC\", \
                          \"America/Los_Angeles\", \"PST\", \"Europe/London\""),
            ]).doc("Converts a TIMESTAMP value into the string representation of the timestamp in \
                    the given format. Single quotes in the timestamp format can be escaped with \
                    '', for example: 'yyyy-MM-dd''T''HH:mm:ssX'"),
        ]),
    f("FROM_BYTES", STRING,
        "Converts a BYTES value to STRING in the specified encoding. The accepted encoders are \
         'hex', 'utf8', 'ascii', and 'base64'.",
        &[
            v("VARCHAR", &[
                a("value", "BYTES").doc("The bytes value to convert."),
                a("encoding", "VARCHAR").doc("The encoding to use on conversion."),
            ]).doc("Converts a BYTES value to STRING in the specified encoding. The accepted \
                    encoders are 'hex', 'utf8', 'ascii', and 'base64'."),
        ]),
    f("FROM_DAYS", DATE_TIME,
        "Converts a number of days since epoch to a DATE value.",
        &[
            v("DATE", &[a("days", "INT")])
                .doc("Converts a number of days since epoch to a DATE value."),
        ]),
    f("FROM_UNIXTIME", DATE_TIME,
        "Converts the number of milliseconds since 1970-01-01 00:00:00 UTC/GMT into a TIMESTAMP \
         value.",
        &[
            v("TIMESTAMP", &[
                a("epochMilli", "BIGINT").doc("Milliseconds since January 1, 1970, 00:00:00 GMT."),
            ]).doc("Converts the number of milliseconds since 1970-01-01 00:00:00 UTC/GMT into a \
                    TIMESTAMP value."),
        ]),
    f("GENERATE_SERIES", ARRAY,
        "Construct an array of a range of values",
        &[
            v("ARRAY<INT>", &[
                a("start", "INT").doc("The beginning of the series"),
                a("end", "INT").doc("Marks the end of the series (inclusive)"),
            ]),
            v("ARRAY<INT>", &[
                a("start", "INT").doc("The beginning of the series"),
                a("end", "INT").doc("Marks the end of the series (inclusive)"),
                a("step", "INT").doc("Difference between each value in the series"),
            ]),
            v("ARRAY<BIGINT>", &[
                a("start", "BIGINT").doc("The beginning of the series"),
                a("end", "BIGINT").doc("Marks the end of the series (inclusive)"),
            ]),
            v("ARRAY<BIGINT>", &[
                a("start", "BIGINT").doc("The beginning of the series"),
                a("end", "BIGINT").doc("Marks the end of the series (inclusive)"),
                a("step", "INT").doc("Difference between each value in the series"),
            ]),
        ]),
    f("GEO_DISTANCE", OTHER,
        "Compute the distance between two points on the surface of the earth, according to the \
         Haversine formula for \"great circle distance\".",
        &[
            v("DOUBLE", &[
                a("lat1", "DOUBLE").doc("The latitude of the first point in decimal degrees."),
                a("lon1", "DOUBLE").doc("The longitude of the first point in decimal degrees."),
                a("lat2", "DOUBLE").doc("The latitude of the second point in decimal degrees."),
                a("lon2", "DOUBLE").doc("The longitude of the second point in decimal degrees."),
                a("units", "VARCHAR").doc("The units for the return value. Either MILES or KM."),
            ]).doc("The 2 input points should be specified as (lat, lon) pairs, measured in \
                    decimal degrees. An optional fifth parameter allows to specify either \"MI\" \
                    (miles) or \"KM\" (kilometers) as the desired unit for the output \
                    measurement. Default is KM."),
            v("DOUBLE", &[
                a("lat1", "DOUBLE").doc("The latitude of the first point in decimal degrees."),
                a("lon1", "DOUBLE").doc("The longitude of the first point in decimal degrees."),
                a("lat2", "DOUBLE").doc("The latitude of the second point in decimal degrees."),
                a("lon2", "DOUBLE").doc("The longitude of the second point in decimal degrees."),
            ]).doc("The 2 input points should be specified as (lat, lon) pairs, measured in \
                    decimal degrees. The distance returned is in kilometers."),
        ]),
    f("GREATEST", MATHEMATICAL,
        "Returns the highest non-null value among a variable number of comparable columns.",
        &[
            v("INT", &[a("val", "INT"), a("vals", "INT").variadic()]),
            v("BIGINT", &[a("val", "BIGINT"), a("vals", "BIGINT").variadic()]),
            v("DOUBLE", &[a("val", "DOUBLE"), a("vals", "DOUBLE").variadic()]),
            v("VARCHAR", &[a("val", "VARCHAR"), a("vals", "VARCHAR").variadic()]),
            v("BYTES", &[a("val", "BYTES"), a("vals", "BYTES").variadic()]),
            v("DATE", &[a("val", "DATE"), a("vals", "DATE").variadic()]),
            v("TIME", &[a("val", "TIME"), a("vals", "TIME").variadic()]),
            v("TIMESTAMP", &[a("val", "TIMESTAMP"), a("vals", "TIMESTAMP").variadic()]),
            v("DECIMAL", &[a("val", "DECIMAL"), a("vals", "DECIMAL").variadic()]),
        ]),
    f("IFNULL", CONDITIONAL,
        "Returns expression if NOT NULL, otherwise the alternative value",
        &[
            v("T", &[
                a("expression", "T").doc("expression to evaluate"),
                a("altValue", "T").doc("Alternative value"),
            ]),
        ]),
    f("INITCAP", STRING,
        "Capitalizes the first letter of each word in a string and the rest lowercased. Words are \
         delimited by whitespace.",
        &[
            v("VARCHAR", &[
                a("str", "VARCHAR").doc("The source string. If null, then function returns null."),
            ]).doc("Returns the string with the the first letter of each word capitalized and the \
                    rest lowercased"),
        ]),
    f("INSTR", STRING,
        "Returns the position of substring in the provided string",
        &[
            v("INT", &[a("str", "VARCHAR"), a("substring", "VARCHAR")]),
            v("INT", &[a("str", "VARCHAR"), a("substring", "VARCHAR"), a("position", "INT")]),
            v("INT", &[
                a("str", "VARCHAR"),
                a("substring", "VARCHAR"),
                a("position", "INT"),
                a("occurrence", "INT"),
            ]),
        ]),
    f("IS_JSON_STRING", JSON,
        "Given a string, returns true if it can be parsed as a valid JSON value, false otherwise.",
        &[
            v("BOOLEAN", &[a("input", "VARCHAR").doc("The input JSON string")]),
        ]),
    f("JSON_ARRAY_CONTAINS", JSON,
        "Parses a JSON array and determines whether or not the supplied value is contained within \
         the array.",
        &[
            v("BOOLEAN", &[a("jsonArray", "VARCHAR"), a("val", "T")]),
        ]),
    f("JSON_ARRAY_LENGTH", JSON,
        "Given a string, parses it as a JSON value and returns the length of the top-level array. \
         Returns NULL if the string can't be interpreted as a JSON array, for example, when the \
         string is `NULL` or it does not contain valid JSON, or the JSON value is not an array.",
        &[
            v("INT", &[a("jsonArray", "VARCHAR")]),
        ]),
    f("JSON_CONCAT", JSON,
        "Given N strings, parse them as JSON values and return a string representing their \
         concatenation. Concatenation rules are identical to PostgreSQL's || operator:\n* If all \
         strings deserialize into JSON objects, return an object with a union of the input keys. \
         If there are duplicate objects, take values from the last object.\n* If all strings \
         deserialize into JSON arrays, return the result of array concatenation.\n* If at least \
         one of the deserialized values is not an object, convert non-array inputs to a \
         single-element array and return the result of array concatenation.\n* If at least one of \
         the input strings is `NULL` or can't be deserialized as JSON, return NULL.\nSimilar to \
         the PostgreSQL's || operator, this function merges only top-level object keys or arrays.",
        &[
            v("VARCHAR", &[a("jsonStrings", "VARCHAR").variadic()]),
        ]),
    f("JSON_ITEMS", JSON,
        "Given a string with JSON array, converts it to a ksqlDB array of JSON strings. Returns \
         `NULL` if the string can not be interpreted as a JSON array, for example, when the \
         string is `NULL` or it does not contain valid JSON, or the JSON value is not an array.",
        &[
            v("ARRAY<VARCHAR>", &[a("jsonItems", "VARCHAR")]),
        ]),
    f("JSON_KEYS", JSON,
        "Given a string, parses it as a JSON object and returns a ksqlDB array of strings \
         representing the top-level keys. Returns NULL if the string can't be interpreted as a \
         JSON object, for example, when the string is NULL or it does not contain valid JSON, or \
         the JSON value is not an object.",
        &[
            v("ARRAY<VARCHAR>", &[a("jsonObj", "VARCHAR")]),
        ]),
    f("JSON_RECORDS", JSON,
        "Given a string, parses it as a JSON object and returns a map representing the top-level \
         keys and values. Returns `NULL` if the string can't be interpreted as a JSON object, \
         i.e. it is `NULL` or it does not contain valid JSON, or the JSON value is not an object.",
        &[
            v("MAP<VARCHAR, VARCHAR>", &[a("jsonObj", "VARCHAR")]),
        ]),
    f("LCASE", STRING,
        "Returns a lower-case version of the input string.",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("The string to lower-case")]),
        ]),
    f("LEAST", MATHEMATICAL,
        "Returns the lowest non-null value among a variable number of comparable columns",
        &[
            v("INT", &[a("val", "INT"), a("vals", "INT").variadic()]),
            v("BIGINT", &[a("val", "BIGINT"), a("vals", "BIGINT").variadic()]),
            v("DOUBLE", &[a("val", "DOUBLE"), a("vals", "DOUBLE").variadic()]),
            v("VARCHAR", &[a("val", "VARCHAR"), a("vals", "VARCHAR").variadic()]),
            v("BYTES", &[a("val", "BYTES"), a("vals", "BYTES").variadic()]),
            v("DATE", &[a("val", "DATE"), a("vals", "DATE").variadic()]),
            v("TIME", &[a("val", "TIME"), a("vals", "TIME").variadic()]),
            v("TIMESTAMP", &[a("val", "TIMESTAMP"), a("vals", "TIMESTAMP").variadic()]),
            v("DECIMAL", &[a("val", "DECIMAL"), a("vals", "DECIMAL").variadic()]),
        ]),
    f("LEN", STRING,
        "Returns the length of the input string or byte array.",
        &[
            v("INT", &[a("input", "VARCHAR").doc("The input string")]),
            v("INT", &[a("input", "BYTES").doc("The input byte array")]),
        ]),
    f("LN", MATHEMATICAL,
        "The natural logarithm of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("the value get the natual logarithm of.")])
                .doc("Returns the natural logarithm (base e) of an INT value."),
            v("DOUBLE", &[a("value", "BIGINT").doc("the value get the natual logarithm of.")])
                .doc("Returns the natural logarithm (base e) of a BIGINT value."),
            v("DOUBLE", &[a("value", "DOUBLE").doc("the value get the natual logarithm of.")])
                .doc("Returns the natural logarithm (base e) of a DOUBLE value."),
        ]),
    f("LOG", MATHEMATICAL,
        "The logarithm of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("the value get the base 10 logarithm of.")])
                .doc("Returns the base 10 logarithm of an INT value."),
            v("DOUBLE", &[a("value", "BIGINT").doc("the value get the base 10 logarithm of.")])
                .doc("Returns the base 10 logarithm of a BIGINT value."),
            v("DOUBLE", &[a("value", "DOUBLE").doc("the value get the base 10 logarithm of.")])
                .doc("Returns the base 10 logarithm of a DOUBLE value."),
            v("DOUBLE", &[
                a("base", "INT").doc("the base of the logarithm."),
                a("value", "INT").doc("the value get the logarithm of."),
            ]).doc("Returns the logarithm with the given base of an INT value."),
            v("DOUBLE", &[
                a("base", "BIGINT").doc("the base of the logarithm."),
                a("value", "BIGINT").doc("the value get the logarithm of."),
            ]).doc("Returns the logarithm with the given base of a BIGINT value."),
            v("DOUBLE", &[
                a("base", "DOUBLE").doc("the base of the logarithm."),
                a("value", "DOUBLE").doc("the value get the logarithm of."),
            ]).doc("Returns the logarithm with the given base of a DOUBLE value."),
        ]),
    f("LPAD", STRING,
        "Pads the input string or bytes, starting from the beginning, with the specified padding \
         string until the target length is reached. If the input string or bytes are longer than \
         the specified target length it will be truncated. If the padding string or bytes are \
         empty or NULL, or the target length is negative, then NULL is returned.",
        &[
            v("VARCHAR", &[
                a("input", "VARCHAR").doc("String to be padded"),
                a("targetLen", "INT").doc("Target length"),
                a("padding", "VARCHAR").doc("Padding string"),
            ]),
            v("BYTES", &[
                a("input", "BYTES").doc("Bytes to be padded"),
                a("targetLen", "INT").doc("Target length"),
                a("padding", "BYTES").doc("Padding bytes"),
            ]),
        ]),
    f("LTRIM", STRING,
        "Remove whitespace from the beginning of a string.",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("The string to trim")]),
        ]),
    f("MAP_KEYS", MAP,
        "Returns an array of all the keys from the specified map, or NULL if the input map is \
         NULL.",
        &[
            v("ARRAY<VARCHAR>", &[a("input", "MAP<VARCHAR, T>")]),
        ]),
    f("MAP_UNION", MAP,
        "Returns a new map containing the union of all entries from both input maps. If a key is \
         present in both input maps then the value from map2 is the one which appears in the \
         result. Returns NULL if all of the input maps are NULL.",
        &[
            v("MAP<VARCHAR, T>", &[
                a("map1", "MAP<VARCHAR, T>").doc("first map to union"),
                a("map2", "MAP<VARCHAR, T>").doc("second map to union"),
            ]),
        ]),
    f("MAP_VALUES", MAP,
        "Returns an array of all the values from the specified map, or NULL if the input map is \
         NULL.",
        &[
            v("ARRAY<T>", &[a("input", "MAP<VARCHAR, T>")]),
        ]),
    f("MASK", STRING,
        "Returns a version of the input string with every character replaced by a mask. Default \
         masking rules will replace all upper-case characters with 'X', all lower-case characters \
         with 'x', all digits with 'n', and any other character with '-'.",
        &[
            v("VARCHAR", &[a("input STRING to be masked", "VARCHAR")])
                .doc("Returns a masked version of the input string. All characters of the input \
                      will be replaced according to the default masking rules."),
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("upper-case mask, or NULL to use default", "VARCHAR"),
                a("lower-case mask, or NULL to use default", "VARCHAR"),
                a("digit mask, or NULL to use default", "VARCHAR"),
                a("mask for other characters, or NULL to use default", "VARCHAR"),
            ]).doc("Returns a masked version of the input string. All characters of the input \
                    will be replaced with the specified masking characters"),
        ]),
    f("MASK_KEEP_LEFT", STRING,
        "Returns a version of the input string with all but the specified number of left-most \
         characters masked out. Default masking rules will replace all upper-case characters with \
         'X', all lower-case characters with 'x', all digits with 'n', and any other character \
         with '-'.",
        &[
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to keep unmasked at the start", "INT"),
            ]).doc("Returns a masked version of the input string. All characters except for the \
                    first n will be replaced according to the default masking rules."),
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to keep unmasked at the start", "INT"),
                a("upper-case mask, or NULL to use default", "VARCHAR"),
                a("lower-case mask, or NULL to use default", "VARCHAR"),
                a("digit mask, or NULL to use default", "VARCHAR"),
                a("mask for other characters, or NULL to use default", "VARCHAR"),
            ]).doc("Returns a masked version of the input string. All characters except for the \
                    first n will be replaced with the specified masking characters"),
        ]),
    f("MASK_KEEP_RIGHT", STRING,
        "Returns a version of the input string with all but the specified number of right-most \
         characters masked out. Default masking rules will replace all upper-case characters with \
         'X', all lower-case characters with 'x', all digits with 'n', and any other character \
         with '-'.",
        &[
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to keep unmasked at the end", "INT"),
            ]).doc("Returns a masked version of the input string. All characters except for the \
                    last n will be replaced according to the default masking rules."),
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to keep unmasked at the end", "INT"),
                a("upper-case mask, or NULL to use default", "VARCHAR"),
                a("lower-case mask, or NULL to use default", "VARCHAR"),
                a("digit mask, or NULL to use default", "VARCHAR"),
                a("mask for other characters, or NULL to use default", "VARCHAR"),
            ]).doc("Returns a masked version of the input string. All characters except for the \
                    last n will be replaced with the specified masking characters"),
        ]),
    f("MASK_LEFT", STRING,
        "Returns a version of the input string with the specified number of characters, starting \
         from the beginning of the string, masked out. Default masking rules will replace all \
         upper-case characters with 'X', all lower-case characters with 'x', all digits with 'n', \
         and any other character with '-'.",
        &[
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to mask from the start", "INT"),
            ]).doc("Returns a masked version of the input string. The first n characters will be \
                    replaced according to the default masking rules."),
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to mask from the start", "INT"),
                a("upper-case mask, or NULL to use default", "VARCHAR"),
                a("lower-case mask, or NULL to use default", "VARCHAR"),
                a("digit mask, or NULL to use default", "VARCHAR"),
                a("mask for other characters, or NULL to use default", "VARCHAR"),
            ]).doc("Returns a masked version of the input string. The first n characters will be \
                    replaced with the specified masking characters"),
        ]),
    f("MASK_RIGHT", STRING,
        "Returns a version of the input string with the specified number of characters, counting \
         back from the end of the string, masked out. Default masking rules will replace all \
         upper-case characters with 'X', all lower-case characters with 'x', all digits with 'n', \
         and any other character with '-'.",
        &[
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to mask before the end", "INT"),
            ]).doc("Returns a masked version of the input string. The last n characters will be \
                    replaced according to the default masking rules."),
            v("VARCHAR", &[
                a("input STRING to be masked", "VARCHAR"),
                a("number of characters to mask before the end", "INT"),
                a("upper-case mask, or NULL to use default", "VARCHAR"),
                a("lower-case mask, or NULL to use default", "VARCHAR"),
                a("digit mask, or NULL to use default", "VARCHAR"),
                a("mask for other characters, or NULL to use default", "VARCHAR"),
            ]).doc("Returns a masked version of the input string. The last n characters will be \
                    replaced with the specified masking characters"),
        ]),
    f("MD5", STRING,
        "Computes the hex-encoded md5 hash of the given string",
        &[
            v("VARCHAR", &[a("s", "VARCHAR").doc("The input string")])
                .doc("Returns the hex-encoded md5 hash of the input string"),
        ]),
    f("NULLIF", CONDITIONAL,
        "Returns NULL if value1 and value2 are equal. Otherwise it returns value1.",
        &[
            v("T", &[a("expr1", "T").doc("expression 1"), a("expr2", "T").doc("expression 2")]),
        ]),
    f("PARSE_DATE", DATE_TIME,
        "Converts a string representation of a date in the given format into a DATE value. The \
         format pattern should be in the format expected by java.text.SimpleDateFormat",
        &[
            v("DATE", &[
                a("formattedDate", "VARCHAR").doc("The string representation of a date."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.text.SimpleDateFormat."),
            ]).doc("Converts a string representation of a date in the given format into a DATE \
                    value."),
        ]),
    f("PARSE_TIME", DATE_TIME,
        "Converts a string representation of a time in the given format into a TIME value.",
        &[
            v("TIME", &[
                a("formattedTime", "VARCHAR").doc("The string representation of a time."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts a string representation of a time in the given format into the TIME \
                    value."),
        ]),
    f("PARSE_TIMESTAMP", DATE_TIME,
        "Converts a string representation of a date in the given format into a TIMESTAMP value.",
        &[
            v("TIMESTAMP", &[
                a("formattedTimestamp", "VARCHAR").doc("The string representation of a date."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts a string representation of a date in the given format into the \
                    TIMESTAMP value. Single quotes in the timestamp format can be escaped with \
                    '', for example: 'yyyy-MM-dd''T''HH:mm:ssX'."),
            v("TIMESTAMP", &[
                a("formattedTimestamp", "VARCHAR").doc("The string representation of a date."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
                a("timeZone", "VARCHAR")
                    .doc(" timeZone is a java.util.TimeZone ID format, for example: \"UTC\", \
                          \"America/Los_Angeles\", \"PST\", \"Europe/London\""),
            ]).doc("Converts a string representation of a date at the given time zone in the \
                    given format into the TIMESTAMP value. Single quotes in the timestamp format \
                    can be escaped with '', for example: 'yyyy-MM-dd''T''HH:mm:ssX'."),
        ]),
    f("PI", MATHEMATICAL,
        "Returns an approximate value of pi.",
        &[
            v("DOUBLE", &[]).doc("Returns an approximate value of pi"),
        ]),
    f("POWER", MATHEMATICAL,
        "Given a base and an exponent, returns the result of the base raised to the exponent.",
        &[
            v("DOUBLE", &[
                a("base", "INT").doc("the base of the power."),
                a("exponent", "INT").doc("the exponent of the power."),
            ]).doc("Returns the INT base raised to the INT exponent."),
            v("DOUBLE", &[
                a("base", "BIGINT").doc("the base of the power."),
                a("exponent", "BIGINT").doc("the exponent of the power."),
            ]).doc("Returns the BIGINT base raised to the BIGINT exponent."),
            v("DOUBLE", &[
                a("base", "DOUBLE").doc("the base of the power."),
                a("exponent", "DOUBLE").doc("the exponent of the power."),
            ]).doc("Returns the DOUBLE base raised to the DOUBLE exponent."),
        ]),
    f("RADIANS", MATHEMATICAL,
        "Converts a value in degrees to a value in radians.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value in degrees to convert to radians.")])
                .doc("Converts an INT value in degrees to a value in radians"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value in degrees to convert to radians.")])
                .doc("Converts a BIGINT value in degrees to a value in radians"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value in degrees to convert to radians.")])
                .doc("Converts a DOUBLE value in degrees to a value in radians"),
        ]),
    f("RANDOM", MATHEMATICAL,
        "Returns a random number greater than or equal to 0.0 and less than 1.0.",
        &[
            v("DOUBLE", &[]),
        ]),
    f("REGEXP_EXTRACT", REGULAR_EXPRESSION,
        "extract the first subtring matched by a regex pattern",
        &[
            v("VARCHAR", &[
                a("pattern", "VARCHAR").doc("The regex pattern"),
                a("input", "VARCHAR").doc("The input string to apply regex on"),
            ]).doc("Returns first substring of the input that matches the given regex pattern"),
            v("VARCHAR", &[
                a("pattern", "VARCHAR").doc("The regex pattern"),
                a("input", "VARCHAR").doc("The input string to apply regex on"),
                a("group", "INT").doc("The capturing group number"),
            ]).doc("Returns the first substring of the input that matches the regex pattern and \
                    the capturing group number specified"),
        ]),
    f("REGEXP_EXTRACT_ALL", REGULAR_EXPRESSION,
        "Extracts the all subtrings matched by a regex pattern",
        &[
            v("ARRAY<VARCHAR>", &[
                a("pattern", "VARCHAR").doc("The regex pattern"),
                a("input", "VARCHAR").doc("The input string to apply regex on"),
            ]).doc("Returns all substrings of the input that matches the given regex pattern"),
            v("ARRAY<VARCHAR>", &[
                a("pattern", "VARCHAR").doc("The regex pattern"),
                a("input", "VARCHAR").doc("The input string to apply regex on"),
                a("group", "INT").doc("The capturing group number"),
            ]).doc("Returns all substrings of the input that matches the regex pattern and the \
                    capturing group number specified"),
        ]),
    f("REGEXP_REPLACE", REGULAR_EXPRESSION,
        "Replaces all matches of a regexp in a string with a new substring.",
        &[
            v("VARCHAR", &[
                a("str", "VARCHAR").doc("The source string. If null, then function returns null."),
                a("regexp", "VARCHAR")
                    .doc("The regexp to match. If null, then function returns null."),
                a("newStr", "VARCHAR")
                    .doc("The string to replace the matches with. If null, then function returns \
                          null."),
            ]).doc("Returns a new string with all matches of regexp in str replaced with newStr"),
        ]),
    f("REGEXP_SPLIT_TO_ARRAY", REGULAR_EXPRESSION,
        "Splits a string into an array of substrings based on a regexp. If the regexp is found at \
         the beginning of the string, end of the string, or there are contiguous matches in the \
         string, then empty strings are added to the array. If the regexp is not found, then the \
         original string is returned as the only element in the array. If the regexp is empty, \
         then all characters in the string are split.",
        &[
            v("ARRAY<VARCHAR>", &[
                a("string", "VARCHAR")
                    .doc("The string to be split. If NULL, then function returns NULL."),
                a("regexp", "VARCHAR")
                    .doc("The regular expression to split the string by. If NULL, then function \
                          returns NULL."),
            ]).doc("Splits a string into an array of substrings based on a regexp."),
        ]),
    f("REPLACE", STRING,
        "Replaces all occurances of a substring in a string with a new substring.",
        &[
            v("VARCHAR", &[
                a("str", "VARCHAR").doc("The source string. If null, then function returns null."),
                a("oldStr", "VARCHAR")
                    .doc("The substring to replace. If null, then function returns null."),
                a("newStr", "VARCHAR")
                    .doc("The string to replace the old substrings with. If null, then function \
                          returns null."),
            ]).doc("Returns a new string with all occurences of oldStr in str with newStr"),
        ]),
    f("ROUND", MATHEMATICAL,
        "Round a value to the number of decimal places as specified by scale to the right of the \
         decimal point. If scale is negative then value is rounded to the right of the decimal \
         point. Numbers equidistant to the nearest value are rounded up (in the positive \
         direction). If the number of decimal places is not provided it defaults to zero.",
        &[
            v("BIGINT", &[a("val", "BIGINT")]),
            v("BIGINT", &[a("val", "INT")]),
            v("BIGINT", &[a("val", "DOUBLE")]),
            v("DOUBLE", &[a("val", "DOUBLE"), a("decimalPlaces", "INT")]),
            v("DECIMAL", &[a("val", "DECIMAL")]),
            v("DECIMAL", &[a("val", "DECIMAL"), a("decimalPlaces", "INT")]),
        ]),
    f("RPAD", STRING,
        "Pads the input string or bytes, starting from the end, with the specified padding string \
         until the target length is reached. If the input string or bytes are longer than the \
         specified target length it will be truncated. If the padding string or bytes are empty \
         or NULL, or the target length is negative, then NULL is returned.",
        &[
            v("VARCHAR", &[
                a("input", "VARCHAR").doc("String to be padded"),
                a("targetLen", "INT").doc("Target length"),
                a("padding", "VARCHAR").doc("Padding string"),
            ]),
            v("BYTES", &[
                a("input", "BYTES").doc("Bytes to be padded"),
                a("targetLen", "INT").doc("Target length"),
                a("padding", "BYTES").doc("Padding bytes"),
            ]),
        ]),
    f("RTRIM", STRING,
        "Remove whitespace from the end of a string.",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("The string to trim")]),
        ]),
    f("SIGN", MATHEMATICAL,
        "The sign of a value.",
        &[
            v("INT", &[a("value", "INT").doc("The value to get the sign of.")])
                .doc("Returns the sign of an INT value, denoted by 1, 0 or -1."),
            v("INT", &[a("value", "BIGINT").doc("The value to get the sign of.")])
                .doc("Returns the sign of an BIGINT value, denoted by 1, 0 or -1."),
            v("INT", &[a("value", "DOUBLE").doc("The value to get the sign of.")])
                .doc("Returns the sign of an DOUBLE value, denoted by 1, 0 or -1."),
        ]),
    f("SIN", MATHEMATICAL,
        "The sine of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value in radians to get the sine of.")])
                .doc("Returns the sine of an INT value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value in radians to get the sine of.")])
                .doc("Returns the sine of a BIGINT value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value in radians to get the sine of.")])
                .doc("Returns the sine of a DOUBLE value"),
        ]),
    f("SINH", MATHEMATICAL,
        "The hyperbolic sine of a value.",
        &[
            v("DOUBLE", &[
                a("value", "INT").doc("The value in radians to get the hyperbolic sine of."),
            ]).doc("Returns the hyperbolic sine of an INT value"),
            v("DOUBLE", &[
                a("value", "BIGINT").doc("The value in radians to get the hyperbolic sine of."),
            ]).doc("Returns the hyperbolic sine of a BIGINT value"),
            v("DOUBLE", &[
                a("value", "DOUBLE").doc("The value in radians to get the hyperbolic sine of."),
            ]).doc("Returns the hyperbolic sine of a DOUBLE value"),
        ]),
    f("SLICE", ARRAY,
        "slice of an ARRAY",
        &[
            v("ARRAY<T>", &[
                a("in", "ARRAY<T>").doc("the input array"),
                a("from", "INT").doc("start index"),
                a("to", "INT").doc("end index"),
            ]),
        ]),
    f("SPLIT", STRING,
        "Splits a string or bytes into an array of substrings or bytes based on a delimiter. If \
         the delimiter is found at the beginning of the string/bytes, end of the string/bytes, or \
         there are contiguous delimiters in the string/bytes, then empty strings/bytes are added \
         to the array. If the delimiter is not found, then the original string or bytes is \
         returned as the only element in the array. If the delimiter is empty, then all \
         characters or bytes in the string or bytes are split.",
        &[
            v("ARRAY<VARCHAR>", &[
                a("string", "VARCHAR")
                    .doc("The string to be split. If NULL, then function returns NULL."),
                a("delimiter", "VARCHAR")
                    .doc("The delimiter to split a string by. If NULL, then function returns \
                          NULL."),
            ]).doc("Splits a string into an array of substrings based on a delimiter."),
            v("ARRAY<BYTES>", &[
                a("bytes", "BYTES")
                    .doc("The byte array to be split. If NULL, then function returns NULL."),
                a("delimiter", "BYTES")
                    .doc("The delimiter to split the byte array by. If NULL, then function \
                          returns NULL."),
            ]).doc("Splits a byte array into an array of bytes values based on a delimiter."),
        ]),
    f("SPLIT_TO_MAP", STRING,
        "Splits a string into key-value pairs and creates a map from them. The 'entryDelimiter' \
         splits the string into key-value pairs which are then split by 'kvDelimiter'. If the \
         same key is present multiple times in the input, the latest value for that key is \
         returned. Returns NULL if the input text or either of the delimiters is NULL.",
        &[
            v("MAP<VARCHAR, VARCHAR>", &[
                a("input", "VARCHAR").doc("Separator string and values to join"),
                a("entryDelimiter", "VARCHAR").doc("Separator string and values to join"),
                a("kvDelimiter", "VARCHAR").doc("Separator string and values to join"),
            ]),
        ]),
    f("SQRT", MATHEMATICAL,
        "The square root of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value to get the square root of.")])
                .doc("Returns the correctly rounded positive square root of a DOUBLE value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value to get the square root of.")])
                .doc("Returns the correctly rounded positive square root of a DOUBLE value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value to get the square root of.")])
                .doc("Returns the correctly rounded positive square root of a DOUBLE value"),
        ]),
    f("STRINGTODATE", DATE_TIME,
        "Converts a string representation of a date in the given format into the number of days \
         since 1970-01-01 00:00:00 UTC/GMT. The system default time zone is used when no time \
         zone is explicitly provided. Note this is the format Kafka Connect uses to represent \
         dates with no time component. The format pattern should be in the format expected by \
         java.time.format.DateTimeFormatter",
        &[
            v("INT", &[
                a("formattedDate", "VARCHAR").doc("The string representation of a date."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts a string representation of a date in the given format into the \
                    number of days since 1970-01-01 00:00:00 UTC/GMT."),
        ]),
    f("STRINGTOTIMESTAMP", DATE_TIME,
        "Converts a string representation of a date in the given format into the number of \
         milliseconds since 1970-01-01 00:00:00 UTC/GMT. The system default time zone is used \
         when no time zone is explicitly provided.",
        &[
            v("BIGINT", &[
                a("formattedTimestamp", "VARCHAR").doc("The string representation of a date."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts a string representation of a date in the given format into the \
                    number of milliseconds since 1970-01-01 00:00:00 UTC/GMT. Single quotes in \
                    the timestamp format can be escaped with '', for example: \
                    'yyyy-MM-dd''T''HH:mm:ssX'. The system default time zone is used when no time \
                    zone is explicitly provided."),
            v("BIGINT", &[
                a("formattedTimestamp", "VARCHAR").doc("The string representation of a date."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
                a("timeZone", "VARCHAR")
                    .doc(" timeZone is a java.util.TimeZone ID format, for example: \"UTC\", \
                          \"America/Los_Angeles\", \"PST\", \"Europe/London\""),
            ]).doc("Converts a string representation of a date at the given time zone into the \
                    number of milliseconds since 1970-01-01 00:00:00 UTC/GMT. Single quotes in \
                    the timestamp format can be escaped with '', for example: \
                    'yyyy-MM-dd''T''HH:mm:ssX'."),
        ]),
    f("SUBSTRING", STRING,
        "Returns the portion of the string or bytes passed in value.",
        &[
            v("VARCHAR", &[
                a("str", "VARCHAR").doc("The source string."),
                a("pos", "INT").doc("The base-one position to start from."),
            ]).doc("Returns the portion of str from pos to the end of str"),
            v("VARCHAR", &[
                a("str", "VARCHAR").doc("The source string."),
                a("pos", "INT").doc("The base-one position to start from."),
                a("length", "INT").doc("The length to extract."),
            ]).doc("Returns the portion of str that starts at pos and is of length len"),
            v("BYTES", &[
                a("bytes", "BYTES").doc("The source bytes."),
                a("pos", "INT").doc("The base-one position to start from."),
            ]).doc("Returns the portion of the bytes value from pos to the end of the bytes value"),
            v("BYTES", &[
                a("bytes", "BYTES").doc("The source bytes."),
                a("pos", "INT").doc("The base-one position to start from."),
                a("length", "INT").doc("The length to extract."),
            ]).doc("Returns the portion of the bytes value that starts at pos and is of length \
                    len"),
        ]),
    f("TAN", MATHEMATICAL,
        "The tangent of a value.",
        &[
            v("DOUBLE", &[a("value", "INT").doc("The value in radians to get the tangent of.")])
                .doc("Returns the tangent of an INT value"),
            v("DOUBLE", &[a("value", "BIGINT").doc("The value in radians to get the tangent of.")])
                .doc("Returns the tangent of a BIGINT value"),
            v("DOUBLE", &[a("value", "DOUBLE").doc("The value in radians to get the tangent of.")])
                .doc("Returns the tangent of a DOUBLE value"),
        ]),
    f("TANH", MATHEMATICAL,
        "The hyperbolic tangent of a value.",
        &[
            v("DOUBLE", &[
                a("value", "INT").doc("The value in radians to get the hyperbolic tangent of."),
            ]).doc("Returns the hyperbolic tangent of an INT value"),
            v("DOUBLE", &[
                a("value", "BIGINT").doc("The value in radians to get the hyperbolic tangent of."),
            ]).doc("Returns the hyperbolic tangent of a BIGINT value"),
            v("DOUBLE", &[
                a("value", "DOUBLE").doc("The value in radians to get the hyperbolic tangent of."),
            ]).doc("Returns the hyperbolic tangent of a DOUBLE value"),
        ]),
    f("TIMEADD", DATE_TIME,
        "Adds a duration to a TIME value.",
        &[
            v("TIME", &[
                a("unit", "INTERVAL UNIT").doc("A unit of time, for example SECOND or HOUR"),
                a("interval", "INT").doc("An integer number of intervals to add"),
                a("time", "TIME").doc("A TIME value."),
            ]).doc("Adds a duration to a time"),
        ]),
    f("TIMESTAMPADD", DATE_TIME,
        "Adds a duration to a TIMESTAMP value.",
        &[
            v("TIMESTAMP", &[
                a("unit", "INTERVAL UNIT").doc("A unit of time, for example DAY or HOUR"),
                a("interval", "INT").doc("An integer number of intervals to add"),
                a("timestamp", "TIMESTAMP").doc("A TIMESTAMP value."),
            ]).doc("Adds a duration to a timestamp"),
        ]),
    f("TIMESTAMPSUB", DATE_TIME,
        "Subtracts a duration from a TIMESTAMP value.",
        &[
            v("TIMESTAMP", &[
                a("unit", "INTERVAL UNIT").doc("A unit of time, for example DAY or HOUR"),
                a("interval", "INT").doc("An integer number of intervals to subtract"),
                a("timestamp", "TIMESTAMP").doc("A TIMESTAMP value."),
            ]).doc("Subtracts a duration from a timestamp"),
        ]),
    f("TIMESTAMPTOSTRING", DATE_TIME,
        "Converts a number of milliseconds since 1970-01-01 00:00:00 UTC/GMT into the string \
         representation of the timestamp in the given format. The system default time zone is \
         used when no time zone is explicitly provided.",
        &[
            v("VARCHAR", &[
                a("epochMilli", "BIGINT")
                    .doc("Milliseconds since January 1, 1970, 00:00:00 UTC/GMT."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
            ]).doc("Converts a number of milliseconds since 1970-01-01 00:00:00 UTC/GMT into the \
                    string representation of the timestamp in the given format. Single quotes in \
                    the timestamp format can be escaped with '', for example: \
                    'yyyy-MM-dd''T''HH:mm:ssX'. The system default time zone is used when no time \
                    zone is explicitly provided. The format pattern should be in the format \
                    expected by java.time.format.DateTimeFormatter"),
            v("VARCHAR", &[
                a("epochMilli", "BIGINT")
                    .doc("Milliseconds since January 1, 1970, 00:00:00 UTC/GMT."),
                a("formatPattern", "VARCHAR")
                    .doc("The format pattern should be in the format expected by \
                          java.time.format.DateTimeFormatter."),
                a("timeZone", "VARCHAR")
                    .doc(" timeZone is a java.util.TimeZone ID format, for example: \"UTC\", \
                          \"America/Los_Angeles\", \"PST\", \"Europe/London\""),
            ]).doc("Converts a number of milliseconds since 1970-01-01 00:00:00 UTC/GMT into the \
                    string representation of the timestamp in the given format. Single quotes in \
                    the timestamp format can be escaped with '', for example: \
                    'yyyy-MM-dd''T''HH:mm:ssX'"),
        ]),
    f("TIMESUB", DATE_TIME,
        "Subtracts a duration from a TIME value.",
        &[
            v("TIME", &[
                a("unit", "INTERVAL UNIT").doc("A unit of time, for example SECOND or HOUR"),
                a("interval", "INT").doc("An integer number of intervals to subtract"),
                a("time", "TIME").doc("A TIME value."),
            ]).doc("Subtracts a duration from a time"),
        ]),
    f("TO_BYTES", STRING,
        "Converts a STRING value in the specified encoding to BYTES. The accepted encoders are \
         'hex', 'utf8', 'ascii', and 'base64'.",
        &[
            v("BYTES", &[
                a("value", "VARCHAR").doc("The string to convert."),
                a("encoding", "VARCHAR").doc("The type of encoding."),
            ]).doc("Converts a STRING value in the specified encoding to BYTES. The accepted \
                    encoders are 'hex', 'utf8', 'ascii', and 'base64'."),
        ]),
    f("TO_JSON_STRING", JSON,
        "Given any ksqlDB type returns the equivalent JSON string.",
        &[
            v("VARCHAR", &[a("input", "T")]),
        ]),
    f("TRANSFORM", LAMBDA,
        "Apply a function to each element in a collection. The transformed collection is returned.",
        &[
            v("ARRAY<R>", &[
                a("array", "ARRAY<T>").doc("The array"),
                a("function", "LAMBDA (T) => R").doc("The lambda function"),
            ]).doc("When transforming an array, the function provided must have two arguments. \
                    The two arguments for each function are in order: the key and then the value. \
                    The transformed array is returned."),
        ]),
    f("TRIM", STRING,
        "Remove whitespace from the beginning and end of a string.",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("The string to trim")]),
        ]),
    f("TRUNC", MATHEMATICAL,
        "Truncates a value to the number of decimal places as specified by scale to the right of \
         the decimal point. If scale is negative then value is truncated to the right of the \
         decimal point.",
        &[
            v("BIGINT", &[a("val", "BIGINT")]),
            v("BIGINT", &[a("val", "INT")]),
            v("BIGINT", &[a("val", "DOUBLE")]),
            v("DOUBLE", &[a("val", "DOUBLE"), a("decimalPlaces", "INT")]),
            v("DECIMAL", &[a("val", "DECIMAL")]),
            v("DECIMAL", &[a("val", "DECIMAL"), a("decimalPlaces", "INT")]),
        ]),
    f("UCASE", STRING,
        "Returns an upper-case version of the input string.",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("The string to upper-case")]),
        ]),
    f("UNIX_DATE", DATE_TIME,
        "Returns the current number of days for the system since 1970-01-01 00:00:00 UTC/GMT.",
        &[
            v("INT", &[])
                .doc("Returns the current number of days for the system since 1970-01-01 00:00:00 \
                      UTC/GMT."),
            v("INT", &[a("date", "DATE")])
                .doc("Returns the current number of days since 1970-01-01 00:00:00 UTC/GMT \
                      represented by the given date."),
        ]),
    f("UNIX_TIMESTAMP", DATE_TIME,
        "Returns the current number of milliseconds for the system since 1970-01-01 00:00:00 \
         UTC/GMT.",
        &[
            v("BIGINT", &[])
                .doc("Returns the current number of milliseconds for the system since 1970-01-01 \
                      00:00:00 UTC/GMT."),
            v("BIGINT", &[a("timestamp", "TIMESTAMP").doc("the TIMESTAMP value.")])
                .doc("Returns the number of milliseconds since 1970-01-01 00:00:00 UTC/GMT \
                      represented by the given timestamp."),
        ]),
    f("URL_DECODE_PARAM", URL,
        "Decodes a previously encoded application/x-www-form-urlencoded String",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("the value to decode")]),
        ]),
    f("URL_ENCODE_PARAM", URL,
        "Returns a version of the input with all URL sensitive characters encoded using the \
         application/x-www-form-urlencoded standard.",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("the value to encode")]),
        ]),
    f("URL_EXTRACT_FRAGMENT", URL,
        "Extracts the fragment of an application/x-www-form-urlencoded String input",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("a valid URL to extract a fragment from")]),
        ]),
    f("URL_EXTRACT_HOST", URL,
        "Extracts the Host Name of an application/x-www-form-urlencoded String input",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("a valid URL")]),
        ]),
    f("URL_EXTRACT_PARAMETER", URL,
        "Extracts a parameter with a specified name encoded inside an \
         application/x-www-form-urlencoded String.",
        &[
            v("VARCHAR", &[
                a("input", "VARCHAR").doc("a valid URL"),
                a("paramToFind", "VARCHAR").doc("the parameter key"),
            ]),
        ]),
    f("URL_EXTRACT_PATH", URL,
        "Extracts the path of an application/x-www-form-urlencoded encoded String input",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("a valid URL")]),
        ]),
    f("URL_EXTRACT_PORT", URL,
        "Extracts the port from an application/x-www-form-urlencoded encoded String. If there is \
         no port or the string is invalid, this will return null.",
        &[
            v("INT", &[a("input", "VARCHAR").doc("a valid URL to extract a port from")]),
        ]),
    f("URL_EXTRACT_PROTOCOL", URL,
        "Extracts the Scheme Component (protocol) of an application/x-www-form-urlencoded encoded \
         String input",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("a valid URL to extract a protocl from")]),
        ]),
    f("URL_EXTRACT_QUERY", URL,
        "Extracts the query parameters of an application/x-www-form-urlencoded encoded String \
         input, if it exists.",
        &[
            v("VARCHAR", &[a("input", "VARCHAR").doc("a valid URL to extract a query from")]),
        ]),
    f("UUID", STRING,
        "Create a Universally Unique Identifier (UUID) generated according to RFC 4122. A call to \
         UUID() returns a value conforming to UUID version 4, sometimes called \"random UUID\", \
         as described in RFC 4122. A call to UUID(bytes) returns a value conforming to UUID. The \
         value is a 128-bit number represented as a string of five hexadecimal numbers \
         aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee.",
        &[
            v("VARCHAR", &[]),
        ]),
];

#[rustfmt::skip]
pub(crate) static AGGREGATE: &[Function] = &[
    f("ATTR", AGGREGATE_CATEGORY,
        "The ATTR() aggregation indicates there are multiple values, but only one was expected. \
         For example, if aggregating against a table that semantically should have only one value \
         for a column given a key, this aggregation enables users to indicate that they expect \
         only a single value.\n\nIf the aggregation encounters more than a single value for the \
         expected singular column, the entire aggregation will return null.",
        &[
            v("T", &[a("val1", "T")]).doc("Collect as a singleton"),
        ]),
    f("AVG", AGGREGATE_CATEGORY,
        "Returns the average value of the column computed as the sum divided by thecount. \
         Applicable only to numeric types.",
        &[
            v("DOUBLE", &[a("val1", "BIGINT")]).doc("Compute average of column with type Long."),
            v("DOUBLE", &[a("val1", "INT")]).doc("Compute average of column with type Integer."),
            v("DOUBLE", &[a("val1", "DOUBLE")]).doc("Compute average of column with type Double."),
        ]),
    f("COLLECT_LIST", AGGREGATE_CATEGORY,
        "Gather all of the values from an input grouping into a single Array field.\nAlthough \
         this aggregate works on both Stream and Table inputs, the order of entries in the result \
         array is not guaranteed when working on Table input data.\nYou may limit the size of the \
         resultant Array to N entries, beyond which any further values will be silently ignored, \
         by setting the ksql.functions.collect_list.limit configuration to N.",
        &[
            v("ARRAY<T>", &[a("val1", "T")]).doc("collect values of a field into a single Array"),
        ]),
    f("COLLECT_SET", AGGREGATE_CATEGORY,
        "Gather all of the distinct values from an input grouping into a single Array.\nNot \
         available for aggregating values from an input Table.\nYou may limit the size of the \
         resultant Array to N entries, beyond which any further values will be silently ignored, \
         by setting the ksql.functions.collect_list.limit configuration to N.",
        &[
            v("ARRAY<T>", &[a("val1", "T")])
                .doc("collect distinct values of a Bigint field into a single Array"),
        ]),
    f("CORRELATION", AGGREGATE_CATEGORY,
        "Computes the Pearson correlation coefficient between two columns of data.",
        &[
            v("DOUBLE", &[a("val1", "DOUBLE"), a("val2", "DOUBLE")])
                .doc("Computes the Pearson correlation coefficient between two DOUBLE columns."),
            v("DOUBLE", &[a("val1", "INT"), a("val2", "INT")])
                .doc("Computes the Pearson correlation coefficient between two INTEGER columns."),
            v("DOUBLE", &[a("val1", "BIGINT"), a("val2", "BIGINT")])
                .doc("Computes the Pearson correlation coefficient between two BIGINT columns."),
        ]),
    f("COUNT", AGGREGATE_CATEGORY,
        "Counts records by key.",
        &[
            v("BIGINT", &[a("val1", "T")]).doc("Counts records by key."),
        ]),
    f("COUNT_DISTINCT", AGGREGATE_CATEGORY,
        "This function returns the number of items found in a group. The implementation is \
         probabilistic with a typical accuracy (standard error) of less than 1%.",
        &[
            v("BIGINT", &[a("val1", "T")]).doc("Count distinct"),
        ]),
    f("EARLIEST_BY_OFFSET", AGGREGATE_CATEGORY,
        "This function returns the oldest N values for the column, computed by offset.",
        &[
            v("T", &[a("val1", "T")]).doc("return the earliest value of a column"),
            v("T", &[a("val1", "T"), a("ignoreNulls", "BOOLEAN")])
                .doc("return the earliest value of a column"),
            v("ARRAY<T>", &[a("val1", "T"), a("earliestN", "INT")])
                .doc("return the earliest N values of a column"),
            v("ARRAY<T>", &[a("val1", "T"), a("earliestN", "INT"), a("ignoreNulls", "BOOLEAN")])
                .doc("return the earliest N values of a column"),
        ]),
    f("HISTOGRAM", AGGREGATE_CATEGORY,
        "Returns a map of each distinct String from the input Stream or Table and how many times \
         each occurs. \nThis version limits the size of the resultant Map to 1000 entries. Any \
         entries added beyond this limit will be ignored.",
        &[
            v("MAP<VARCHAR, BIGINT>", &[a("val1", "VARCHAR")])
                .doc("Build a value-to-count histogram of input Strings"),
        ]),
    f("LATEST_BY_OFFSET", AGGREGATE_CATEGORY,
        "This function returns the oldest N values for the column, computed by offset.",
        &[
            v("T", &[a("val1", "T")]).doc("return the latest value of a column"),
            v("T", &[a("val1", "T"), a("ignoreNulls", "BOOLEAN")])
                .doc("return the latest value of a column"),
            v("ARRAY<T>", &[a("val1", "T"), a("latestN", "INT")])
                .doc("return the latest N values of a column"),
            v("ARRAY<T>", &[a("val1", "T"), a("latestN", "INT"), a("ignoreNulls", "BOOLEAN")])
                .doc("return the latest N values of a column"),
        ]),
    f("MAX", AGGREGATE_CATEGORY,
        "Computes the maximum value for a key.",
        &[
            v("INT", &[a("val1", "INT")]).doc("Computes the maximum value for an integer key."),
            v("BIGINT", &[a("val1", "BIGINT")]).doc("Computes the maximum value for a long key."),
            v("DOUBLE", &[a("val1", "DOUBLE")]).doc("Computes the maximum value for a double key."),
            v("DECIMAL", &[a("val1", "DECIMAL")])
                .doc("Computes the maximum value for a decimal key."),
            v("DATE", &[a("val1", "DATE")]).doc("Computes the maximum value for a date key."),
            v("TIME", &[a("val1", "TIME")]).doc("Computes the maximum value for a time key."),
            v("TIMESTAMP", &[a("val1", "TIMESTAMP")])
                .doc("Computes the maximum value for a timestamp key."),
            v("VARCHAR", &[a("val1", "VARCHAR")])
                .doc("Computes the maximum value for a string key."),
            v("BYTES", &[a("val1", "BYTES")]).doc("Computes the maximum value for a bytes key."),
        ]),
    f("MIN", AGGREGATE_CATEGORY,
        "Computes the minimum value for a key.",
        &[
            v("INT", &[a("val1", "INT")]).doc("Computes the minimum value for an integer key."),
            v("BIGINT", &[a("val1", "BIGINT")]).doc("Computes the minimum value for a long key."),
            v("DOUBLE", &[a("val1", "DOUBLE")]).doc("Computes the minimum value for a double key."),
            v("DECIMAL", &[a("val1", "DECIMAL")])
                .doc("Computes the minimum value for a decimal key."),
            v("DATE", &[a("val1", "DATE")]).doc("Computes the minimum value for a date key."),
            v("TIME", &[a("val1", "TIME")]).doc("Computes the minimum value for a time key."),
            v("TIMESTAMP", &[a("val1", "TIMESTAMP")])
                .doc("Computes the minimum value for a timestamp key."),
            v("VARCHAR", &[a("val1", "VARCHAR")])
                .doc("Computes the minimum value for a string key."),
            v("BYTES", &[a("val1", "BYTES")]).doc("Computes the minimum value for a bytes key."),
        ]),
    f("STDDEV_SAMP", AGGREGATE_CATEGORY,
        "Returns the sample standard deviation of the column. Applicable only to numeric types.",
        &[
            v("DOUBLE", &[a("val1", "BIGINT")])
                .doc("Compute sample standard deviation of column with type Long."),
            v("DOUBLE", &[a("val1", "INT")])
                .doc("Compute sample standard deviation of column with type Integer."),
            v("DOUBLE", &[a("val1", "DOUBLE")])
                .doc("Compute sample standard deviation of column with type Double."),
        ]),
    f("STDDEV_SAMPLE", AGGREGATE_CATEGORY,
        "Returns the sample standard deviation of the column. Applicable only to numeric types.",
        &[
            v("DOUBLE", &[a("val1", "BIGINT")])
                .doc("Compute sample standard deviation of column with type Long."),
            v("DOUBLE", &[a("val1", "INT")])
                .doc("Compute sample standard deviation of column with type Integer."),
            v("DOUBLE", &[a("val1", "DOUBLE")])
                .doc("Compute sample standard deviation of column with type Double."),
        ]),
    f("SUM", AGGREGATE_CATEGORY,
        "Computes the sum for a key.",
        &[
            v("DECIMAL", &[a("val1", "DECIMAL")])
                .doc("Computes the sum of decimal values for a key, resulting in a decimal with \
                      the same precision and scale."),
            v("DOUBLE", &[a("val1", "DOUBLE")]).doc("Computes the sum for a key."),
            v("BIGINT", &[a("val1", "BIGINT")]).doc("Computes the sum for a key."),
            v("INT", &[a("val1", "INT")]).doc("Computes the sum for a key."),
        ]),
    f("SUM_LIST", AGGREGATE_CATEGORY,
        "Returns the sum of elements contained in the list.",
        &[
            v("DOUBLE", &[a("val1", "ARRAY<DOUBLE>")])
                .doc("sum double values in a list into a single double"),
            v("INT", &[a("val1", "ARRAY<INT>")]).doc("sum int values in a list into a single int"),
            v("BIGINT", &[a("val1", "ARRAY<BIGINT>")])
                .doc("sum long values in a list into a single long"),
        ]),
    f("TOPK", AGGREGATE_CATEGORY,
        "Returns the top k values for a column and other values in those records.",
        &[
            v("ARRAY<S>", &[a("val1", "INT"), a("val2", "ANY").variadic(), a("k", "INT")])
                .doc("Returns the top k values for an integer column and other values in those \
                      records."),
            v("ARRAY<S>", &[a("val1", "BIGINT"), a("val2", "ANY").variadic(), a("k", "INT")])
                .doc("Returns the top k values for a bigint column and other values in those \
                      records."),
            v("ARRAY<S>", &[a("val1", "DOUBLE"), a("val2", "ANY").variadic(), a("k", "INT")])
                .doc("Returns the top k values for a double column and other values in those \
                      records."),
            v("ARRAY<S>", &[a("val1", "VARCHAR"), a("val2", "ANY").variadic(), a("k", "INT")])
                .doc("Returns the top k values for a string column and other values in those \
                      records."),
        ]),
    f("TOPKDISTINCT", AGGREGATE_CATEGORY,
        "Computes the top k distinct values for a column, per key.",
        &[
            v("ARRAY<INT>", &[a("val1", "INT"), a("k", "INT")])
                .doc("Calculates the top k distinct values for an integer column, per key."),
            v("ARRAY<BIGINT>", &[a("val1", "BIGINT"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a long column, per key."),
            v("ARRAY<DOUBLE>", &[a("val1", "DOUBLE"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a double column, per key."),
            v("ARRAY<VARCHAR>", &[a("val1", "VARCHAR"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a string column, per key."),
            v("ARRAY<DECIMAL>", &[a("val1", "DECIMAL"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a decimal column, per key."),
            v("ARRAY<DATE>", &[a("val1", "DATE"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a date column, per key."),
            v("ARRAY<TIME>", &[a("val1", "TIME"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a time column, per key."),
            v("ARRAY<TIMESTAMP>", &[a("val1", "TIMESTAMP"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a timestamp column, per key."),
            v("ARRAY<BYTES>", &[a("val1", "BYTES"), a("k", "INT")])
                .doc("Calculates the top k distinct values for a bytes column, per key."),
        ]),
];

#[rustfmt::skip]
pub(crate) static TABLE: &[Function] = &[
    f("EXPLODE", TABLE_CATEGORY,
        "Explodes an array. This function outputs one value for each element of the array.",
        &[
            v("T", &[a("list", "ARRAY<T>")]),
            v("DECIMAL", &[a("input", "ARRAY<DECIMAL>")]),
        ]),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use datafusion::common::{DFSchema, ScalarValue};
    use datafusion::logical_expr::{ident, lit, Expr, ExprSchemable};

    use super::*;
    use crate::types::SqlType;
    use crate::udaf::AggregateArg;

    #[test]
    fn every_function_is_catalogued_and_every_catalogued_name_exists() {
        let names = |list: &[Function]| list.iter().map(|f| f.name).collect::<BTreeSet<_>>();
        let scalar: BTreeSet<&str> = crate::functions::names()
            .into_iter()
            .chain(crate::functions::LAMBDA_NAMES.iter().copied())
            .collect();
        assert_eq!(names(SCALAR), scalar);
        assert_eq!(
            names(AGGREGATE),
            crate::udaf::NAMES.iter().copied().collect()
        );
        let table: BTreeSet<&str> = crate::functions::TABLE_NAMES.iter().copied().collect();
        assert_eq!(names(TABLE), table);
        for (_, f) in all() {
            assert!(!f.variants.is_empty(), "{}", f.name);
            for v in f.variants {
                let variadic = v.args.iter().filter(|a| a.variadic).count();
                assert!(variadic <= 1, "{}: several variadic arguments", f.name);
                for a in v.args {
                    assert!(parse(a.sql_type, &|_| SqlType::Int).is_some() || opaque(a.sql_type));
                }
            }
        }
        assert_eq!(lookup("COUNT").map(|(k, _)| k), Some(Kind::Aggregate));
        assert_eq!(lookup("EXPLODE").map(|(k, _)| k), Some(Kind::Table));
        assert!(lookup("NOPE").is_none());
    }

    /// Types a column cannot have: the unit keyword, lambdas, a variadic aggregate's `ANY`.
    fn opaque(t: &str) -> bool {
        t == "INTERVAL UNIT" || t == "ANY" || t.starts_with("LAMBDA ")
    }

    /// A type as ksqlDB prints it, with `generic` giving each type variable's type (`None` for
    /// the types of [`opaque`]).
    fn parse(t: &str, generic: &dyn Fn(&str) -> SqlType) -> Option<SqlType> {
        let t = t.trim();
        let inner = |prefix: &str| t.strip_prefix(prefix).and_then(|r| r.strip_suffix('>'));
        Some(match t {
            "BOOLEAN" => SqlType::Boolean,
            "INT" => SqlType::Int,
            "BIGINT" => SqlType::Bigint,
            "DOUBLE" => SqlType::Double,
            "DECIMAL" => SqlType::Decimal(10, 2),
            "VARCHAR" => SqlType::String,
            "BYTES" => SqlType::Bytes,
            "DATE" => SqlType::Date,
            "TIME" => SqlType::Time,
            "TIMESTAMP" => SqlType::Timestamp,
            _ if t.len() == 1 => generic(t),
            _ => {
                if let Some(e) = inner("ARRAY<") {
                    SqlType::Array(Box::new(parse(e, generic)?))
                } else if let Some(kv) = inner("MAP<") {
                    let (k, v) = kv.split_once(", ")?;
                    SqlType::Map(Box::new(parse(k, generic)?), Box::new(parse(v, generic)?))
                } else if let Some(fields) = inner("STRUCT<") {
                    let fields = fields.split(", ").map(|f| {
                        let (n, t) = f.split_once(' ')?;
                        Some((n.to_string(), parse(t, generic)?))
                    });
                    SqlType::Struct(fields.collect::<Option<_>>()?)
                } else {
                    return None;
                }
            }
        })
    }

    /// The types tried for a variant's type variables.
    const GENERIC: [SqlType; 2] = [SqlType::Int, SqlType::String];

    /// A decimal's precision and scale are the argument's, not part of the signature.
    fn same(declared: &SqlType, actual: &SqlType) -> bool {
        match (declared, actual) {
            (SqlType::Decimal(..), SqlType::Decimal(..)) => true,
            (SqlType::Array(d), SqlType::Array(a)) => same(d, a),
            (SqlType::Map(dk, dv), SqlType::Map(ak, av)) => same(dk, ak) && same(dv, av),
            _ => declared == actual,
        }
    }

    fn show(v: &Variant) -> String {
        let args: Vec<String> = v
            .args
            .iter()
            .map(|a| format!("{}{}", a.sql_type, if a.variadic { "..." } else { "" }))
            .collect();
        format!("({}) -> {}", args.join(", "), v.returns)
    }

    /// How many values each argument gets in the calls tried: one for a plain argument, each
    /// of `variadic` for a variadic one.
    fn arities(v: &Variant, variadic: [usize; 2]) -> Vec<Vec<usize>> {
        let counts = |n: usize| -> Vec<usize> {
            v.args
                .iter()
                .map(|a| if a.variadic { n } else { 1 })
                .collect()
        };
        if v.args.iter().any(|a| a.variadic) {
            variadic.map(counts).to_vec()
        } else {
            vec![counts(1)]
        }
    }

    /// The return type of scalar function `name` called with `counts[i]` columns of the type of
    /// its `i`th argument (a unit keyword for `INTERVAL UNIT`).
    fn scalar_return(
        name: &str,
        v: &Variant,
        generic: &dyn Fn(&str) -> SqlType,
        counts: &[usize],
    ) -> Result<Option<SqlType>, String> {
        use datafusion::arrow::datatypes::{Field, Schema};
        let mut fields = Vec::new();
        let mut args = Vec::new();
        for (a, n) in v.args.iter().zip(counts) {
            for _ in 0..*n {
                if a.sql_type == "INTERVAL UNIT" {
                    args.push(lit("DAYS"));
                    continue;
                }
                let t = parse(a.sql_type, generic).expect(a.sql_type);
                let column = format!("C{}", fields.len());
                fields.push(Field::new(&column, t.to_arrow(), true));
                args.push(ident(column));
            }
        }
        let schema = DFSchema::try_from(Schema::new(fields)).map_err(|e| e.to_string())?;
        let call: Expr = crate::functions::scalar_call(name, args, &schema)?;
        let t = call.get_type(&schema).map_err(|e| e.to_string())?;
        Ok(SqlType::from_arrow(&t))
    }

    #[test]
    fn every_scalar_variant_plans_with_its_declared_return_type() {
        let mut failures = Vec::new();
        for f in SCALAR {
            if crate::functions::LAMBDA_NAMES.contains(&f.name) {
                continue;
            }
            for v in f.variants {
                for g in &GENERIC {
                    let generic = |_: &str| g.clone();
                    let declared = parse(v.returns, &generic).expect(v.returns);
                    for counts in arities(v, [2, 3]) {
                        match scalar_return(f.name, v, &generic, &counts) {
                            Ok(Some(t)) if same(&declared, &t) => {}
                            Ok(t) => failures.push(format!("{}{} gives {t:?}", f.name, show(v))),
                            Err(e) => failures.push(format!("{}{} [{g}]: {e}", f.name, show(v))),
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn every_aggregate_variant_resolves_with_its_declared_return_type() {
        let mut failures = Vec::new();
        for f in AGGREGATE {
            for v in f.variants {
                for g in &GENERIC {
                    let generic = |_: &str| g.clone();
                    // TOPK's other columns are optional.
                    for counts in arities(v, [0, 2]) {
                        let mut args = Vec::new();
                        for (a, n) in v.args.iter().zip(&counts) {
                            // Column arguments are `val1`, `val2`, ...; the others are literals.
                            let column = a.name.starts_with("val");
                            for _ in 0..*n {
                                let sql_type = match a.sql_type {
                                    "ANY" => SqlType::String,
                                    t => parse(t, &generic).expect(t),
                                };
                                let literal = match (&sql_type, column) {
                                    (_, true) => None,
                                    (SqlType::Int, _) => Some(ScalarValue::Int32(Some(2))),
                                    (SqlType::Boolean, _) => Some(ScalarValue::Boolean(Some(true))),
                                    (t, _) => panic!("no literal of {t}"),
                                };
                                args.push(AggregateArg { sql_type, literal });
                            }
                        }
                        let declared = parse(v.returns, &generic).expect(v.returns);
                        // TOPK's element type (`S`) depends on the other columns.
                        let unbound = v.returns == "ARRAY<S>";
                        match crate::udaf::resolve(f.name, &args) {
                            Ok(r) => {
                                if !unbound && !same(&declared, &r.return_type) {
                                    failures.push(format!(
                                        "{}{} gives {}",
                                        f.name,
                                        show(v),
                                        r.return_type
                                    ));
                                }
                            }
                            Err(e) => failures.push(format!("{}{} [{g}]: {e}", f.name, show(v))),
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

//! Wire tests: exact bytes of every writer, and the JSON-RPC 2.0 specification's
//! "Examples" section answered through [`serve_frame`].

use super::*;
// Under Node (`scripts/web-test.sh`) the same tests run through wasm-bindgen-test.
use serde_json::{Value, json};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// A handler with the methods the specification's examples use.
fn spec_methods(message: Message<'_>) -> Option<Outcome> {
    let Message::Request(request) = message else {
        return None;
    };
    let outcome = match &*request.method {
        "subtract" => match request.params::<Value>() {
            Ok(Value::Array(args)) => {
                let a = args.first().and_then(Value::as_i64).unwrap_or(0);
                let b = args.get(1).and_then(Value::as_i64).unwrap_or(0);
                to_raw(&(a - b))
            }
            Ok(Value::Object(args)) => {
                let a = args.get("minuend").and_then(Value::as_i64).unwrap_or(0);
                let b = args.get("subtrahend").and_then(Value::as_i64).unwrap_or(0);
                to_raw(&(a - b))
            }
            _ => Err(ResponseError::standard(ErrorCode::InvalidParams)),
        },
        "sum" => request
            .params::<Vec<i64>>()
            .and_then(|v| to_raw(&v.iter().sum::<i64>())),
        "get_data" => to_raw(&json!(["hello", 5])),
        _ => Err(ResponseError::standard(ErrorCode::MethodNotFound)),
    };
    Some(outcome)
}

/// Sends `input` (pretty or compact: it is compacted to one line first, as the wire
/// demands) and returns what came back, parsed.
fn exchange(input: &str) -> Option<Value> {
    let line = match serde_json::from_str::<Value>(input) {
        Ok(value) => value.to_string(),
        // Invalid JSON is sent as it is, on one line.
        Err(_) => input.replace('\n', " "),
    };
    let mut out = Vec::new();
    if !serve_frame(line.as_bytes(), &mut out, spec_methods) {
        assert!(out.is_empty());
        return None;
    }
    assert_eq!(out.last(), Some(&b'\n'), "responses end with a newline");
    assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1, "one line");
    Some(serde_json::from_slice(&out).expect("valid JSON"))
}

fn expect(input: &str, expected: &str) {
    let expected: Value = serde_json::from_str(expected).unwrap();
    assert_eq!(exchange(input), Some(expected), "for {input}");
}

#[test]
fn spec_positional_parameters() {
    expect(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
        r#"{"jsonrpc": "2.0", "result": 19, "id": 1}"#,
    );
    expect(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
        r#"{"jsonrpc": "2.0", "result": -19, "id": 2}"#,
    );
}

#[test]
fn spec_named_parameters() {
    expect(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
        r#"{"jsonrpc": "2.0", "result": 19, "id": 3}"#,
    );
    expect(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
        r#"{"jsonrpc": "2.0", "result": 19, "id": 4}"#,
    );
}

#[test]
fn spec_notifications_get_no_answer() {
    assert_eq!(
        exchange(r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#),
        None
    );
    assert_eq!(exchange(r#"{"jsonrpc": "2.0", "method": "foobar"}"#), None);
}

#[test]
fn spec_non_existent_method() {
    expect(
        r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
        r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#,
    );
}

#[test]
fn spec_invalid_json() {
    expect(
        r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
        r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
    );
}

#[test]
fn spec_invalid_request_object() {
    expect(
        r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
        r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
    );
}

#[test]
fn spec_batch_invalid_json() {
    expect(
        r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
        r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
    );
}

#[test]
fn spec_empty_array() {
    expect(
        "[]",
        r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
    );
}

#[test]
fn spec_invalid_batch_not_empty() {
    expect(
        "[1]",
        r#"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#,
    );
}

#[test]
fn spec_invalid_batch() {
    let one = r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#;
    expect("[1,2,3]", &format!("[{one},{one},{one}]"));
}

#[test]
fn spec_batch() {
    expect(
        r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"#,
        r#"[
        {"jsonrpc": "2.0", "result": 7, "id": "1"},
        {"jsonrpc": "2.0", "result": 19, "id": "2"},
        {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
    ]"#,
    );
}

#[test]
fn spec_batch_of_notifications_gets_nothing() {
    assert_eq!(
        exchange(
            r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#
        ),
        None
    );
}

#[test]
fn exact_bytes_of_every_writer() {
    let mut out = Vec::new();
    write_request(&mut out, &RequestId::Number(1), "add", Some(&(1, 2))).unwrap();
    assert_eq!(
        out,
        br#"{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}"#
    );

    out.clear();
    write_request::<()>(&mut out, &"a\"b".into(), "ping", None).unwrap();
    assert_eq!(out, br#"{"jsonrpc":"2.0","id":"a\"b","method":"ping"}"#);

    out.clear();
    write_request(&mut out, &RequestId::Number(2), "ping", Some(&())).unwrap();
    assert_eq!(out, br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);

    out.clear();
    write_notification(&mut out, "log", Some(&json!({"text": "hi"}))).unwrap();
    assert_eq!(
        out,
        br#"{"jsonrpc":"2.0","method":"log","params":{"text":"hi"}}"#
    );

    out.clear();
    write_result(&mut out, &RequestId::Number(-3), &"ok").unwrap();
    assert_eq!(out, br#"{"jsonrpc":"2.0","id":-3,"result":"ok"}"#);

    out.clear();
    let error = ResponseError::standard(ErrorCode::MethodNotFound);
    write_error(&mut out, Some(&"1".into()), &error);
    assert_eq!(
        out,
        br#"{"jsonrpc":"2.0","id":"1","error":{"code":-32601,"message":"Method not found"}}"#
    );

    out.clear();
    let error = ResponseError::new(ErrorCode::ModCrashed, "boom").with_data(&[1]);
    write_error(&mut out, None, &error);
    assert_eq!(
        out,
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"boom","data":[1]}}"#
    );
}

#[test]
fn raw_results_stay_on_one_line() {
    // Line breaks between tokens go; an escaped one inside a string stays as it is.
    let pretty = RawValue::from_string("{\r\n  \"a\": 1,\n  \"b\": \"x\\ny\"\n}".into()).unwrap();
    let mut out = Vec::new();
    write_raw_result(&mut out, &RequestId::Number(1), &pretty);
    assert_eq!(
        out,
        br#"{"jsonrpc":"2.0","id":1,"result":{  "a": 1,  "b": "x\ny"}}"#
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(parsed["result"], serde_json::json!({"a": 1, "b": "x\ny"}));
}

#[test]
fn failed_serialization_leaves_buffer_untouched() {
    let mut map = std::collections::BTreeMap::new();
    map.insert(vec![1u8], 1);
    let mut out = b"keep".to_vec();
    assert!(write_request(&mut out, &RequestId::Number(1), "m", Some(&map)).is_err());
    assert!(write_result(&mut out, &RequestId::Number(1), &map).is_err());
    assert_eq!(out, b"keep");
}

#[test]
fn ids_keep_numbers_and_strings_apart() {
    let parse = |line: &str| match parse_frame(line.as_bytes()) {
        Ok(Frame::Single(Ok(Message::Request(r)))) => r.id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        parse(r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#),
        RequestId::Number(1)
    );
    assert_eq!(
        parse(r#"{"jsonrpc":"2.0","id":"1","method":"m"}"#),
        RequestId::String("1".into())
    );
    assert_ne!(RequestId::Number(1), RequestId::String("1".into()));
}

#[test]
fn invalid_messages_are_told_apart() {
    let invalid = |line: &str| match parse_frame(line.as_bytes()) {
        Ok(Frame::Single(Err(invalid))) => invalid,
        other => panic!("{line}: {other:?}"),
    };
    // Wrong version, keeps the id.
    let i = invalid(r#"{"jsonrpc":"1.0","id":5,"method":"m"}"#);
    assert_eq!(i.id, Some(RequestId::Number(5)));
    assert_eq!(i.error.code, -32600);
    // Missing version.
    invalid(r#"{"id":5,"method":"m"}"#);
    // Fractional and object ids.
    assert_eq!(
        invalid(r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#).id,
        None
    );
    invalid(r#"{"jsonrpc":"2.0","id":{},"method":"m"}"#);
    // A request with a null id.
    invalid(r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#);
    // Params that are not structured.
    invalid(r#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#);
    // A response with both result and error, or neither.
    invalid(r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}}"#);
    invalid(r#"{"jsonrpc":"2.0","id":1}"#);
    // A response without an id member.
    invalid(r#"{"jsonrpc":"2.0","result":1}"#);
    // Not an object.
    invalid(r#""hello""#);
}

#[test]
fn responses_parse_with_result_or_error() {
    let line =
        br#"{"jsonrpc":"2.0","id":"x","error":{"code":-32000,"message":"m","data":{"k":1}}}"#;
    let Ok(Frame::Single(Ok(Message::Response(r)))) = parse_frame(line) else {
        panic!()
    };
    assert_eq!(r.id, Some("x".into()));
    let error = r.result.unwrap_err();
    assert_eq!(error.error_code(), Some(ErrorCode::ModCrashed));
    assert_eq!(error.data.unwrap().get(), r#"{"k":1}"#);

    let line = br#"{"id":null,"result":null,"jsonrpc":"2.0"}"#;
    let Ok(Frame::Single(Ok(Message::Response(r)))) = parse_frame(line) else {
        panic!()
    };
    assert_eq!(r.id, None);
    assert_eq!(r.result.unwrap().get(), "null");
}

#[test]
fn escaped_method_names_are_decoded() {
    let line = br#"{"jsonrpc":"2.0","method":"a\u0062c"}"#;
    let Ok(Frame::Single(Ok(Message::Notification(n)))) = parse_frame(line) else {
        panic!()
    };
    assert_eq!(n.method, "abc");
}

/// Found by the `protocol_fast` fuzz target: the fast path read the id `-0` as the
/// integer 0, while `parse_frame` (serde_json reads `-0` as a float) refuses it, so the
/// same line was a request on one path and an Invalid Request on the other.
#[test]
fn fast_paths_refuse_negative_zero_ids_as_parse_frame_does() {
    let request = br#"{"jsonrpc":"2.0","id":-0,"method":"a"}"#;
    assert!(fast_parse(request).is_none());
    assert!(matches!(
        parse_frame(request),
        Ok(Frame::Single(Err(Invalid { id: None, .. })))
    ));
    assert!(fast_parse(br#"{"jsonrpc":"2.0","id":-0,"result":1}"#).is_none());
    assert!(fast_head(br#"{"jsonrpc":"2.0","id":-0,"method":"a"}"#).is_none());
    // Other negative ids still take the fast path.
    let Some(Fast::Message(Message::Request(r))) =
        fast_parse(br#"{"jsonrpc":"2.0","id":-10,"method":"a"}"#)
    else {
        panic!()
    };
    assert_eq!(r.id, RequestId::Number(-10));
}

#[test]
fn fast_result_matches_the_writer_and_nothing_else() {
    let mut out = Vec::new();
    write_result(&mut out, &RequestId::Number(42), &json!({"x": [1, 2]})).unwrap();
    assert_eq!(fast_result(&out), Some((42, &br#"{"x":[1,2]}"#[..])));
    out.clear();
    write_result(&mut out, &RequestId::Number(-1), &7).unwrap();
    assert_eq!(fast_result(&out), Some((-1, &b"7"[..])));
    // Other forms fall back to the full parser.
    assert_eq!(
        fast_result(br#"{"jsonrpc":"2.0","id":"1","result":1}"#),
        None
    );
    assert_eq!(fast_result(br#"{"id":1,"jsonrpc":"2.0","result":1}"#), None);
    assert_eq!(
        fast_result(br#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":""}}"#),
        None
    );
}

#[test]
fn params_errors_name_the_method() {
    let line = br#"{"jsonrpc":"2.0","id":1,"method":"add","params":["x"]}"#;
    let Ok(Frame::Single(Ok(Message::Request(r)))) = parse_frame(line) else {
        panic!()
    };
    let error = r.params::<(i32, i32)>().unwrap_err();
    assert_eq!(error.code, -32602);
    assert!(
        error.message.starts_with("Invalid params for add: "),
        "{error}"
    );
    // Missing params read as null.
    let line = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let Ok(Frame::Single(Ok(Message::Request(r)))) = parse_frame(line) else {
        panic!()
    };
    r.params::<()>().unwrap();
    assert_eq!(r.params::<Option<u8>>().unwrap(), None);
}

#[test]
fn error_codes_round_trip() {
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_code(code.code()), Some(code));
        let n = code.code();
        // Standard, this project's (reserved for implementations), or BRP's.
        assert!(
            (-32099..=-32000).contains(&n)
                || (-32700..=-32600).contains(&n)
                || (-23599..=-23400).contains(&n),
            "{n}"
        );
    }
    assert_eq!(ErrorCode::from_code(1), None);
    assert_eq!(
        ErrorCode::from_code(-23401),
        Some(ErrorCode::EntityNotFound)
    );
}

#[test]
fn oversized_batches_are_refused_whole() {
    let line = format!("[{}1]", "1,".repeat(MAX_BATCH));
    let mut out = Vec::new();
    assert!(serve_frame(line.as_bytes(), &mut out, spec_methods));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid Request: a batch may hold at most 1024 messages\"}}\n"
    );
}

#[test]
fn malformed_responses_are_handed_over_not_answered() {
    let bad = br#"{"jsonrpc":"2.0","id":4,"error":"nope"}"#;
    let Ok(Frame::Single(Err(invalid))) = parse_frame(bad) else {
        panic!()
    };
    assert!(invalid.response);
    assert_eq!(invalid.id, Some(RequestId::Number(4)));
    assert_eq!(
        invalid.error.message,
        "Invalid Request: not a valid response: `error` must be an object with an integer \
         `code` and a string `message`"
    );
    // A request with a bad version is not a response.
    let Ok(Frame::Single(Err(invalid))) = parse_frame(br#"{"jsonrpc":"1.0","id":4,"method":"m"}"#)
    else {
        panic!()
    };
    assert!(!invalid.response);

    // `serve_frame` answers it; `serve_frame_with` hands it over and writes nothing.
    let mut out = Vec::new();
    assert!(serve_frame(bad, &mut out, spec_methods));
    assert!(out.starts_with(br#"{"jsonrpc":"2.0","id":4,"error":{"code":-32600,"#));
    out.clear();
    let mut handed = Vec::new();
    let line = br#"[{"jsonrpc":"2.0","id":5,"result":1,"error":{"code":1,"message":""}},{"jsonrpc":"2.0","id":6,"method":"sum","params":[1,2]}]"#;
    assert!(serve_frame_with(
        line,
        &mut out,
        spec_methods,
        |id, error| {
            handed.push((id, error.code, error.message));
        }
    ));
    assert_eq!(out, b"[{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":3}]\n");
    assert_eq!(
        handed,
        [(
            RequestId::Number(5),
            -32600,
            "Invalid Request: not a valid response: it has both `result` and `error`".to_owned()
        )]
    );
    // Without an id there is no call to fail: it is answered with a null id.
    out.clear();
    assert!(serve_frame_with(
        br#"{"jsonrpc":"2.0","result":1}"#,
        &mut out,
        spec_methods,
        |_, _| panic!("no id to hand over"),
    ));
    assert!(out.starts_with(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"#));
}

#[test]
fn scalar_params_are_not_written() {
    let mut out = b"x".to_vec();
    let error = write_request(&mut out, &RequestId::Number(1), "m", Some(&5)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "params must be a JSON array or an object (or null for none), not 5"
    );
    assert!(write_notification(&mut out, "m", Some(&"s")).is_err());
    assert_eq!(out, b"x", "nothing was written");
    write_notification(&mut out, "m", Some(&())).unwrap();
    assert_eq!(out, br#"x{"jsonrpc":"2.0","method":"m"}"#);
}

#[test]
fn params_are_checked_in_one_place() {
    assert_eq!(check_params(b"{}"), Ok(true));
    assert_eq!(check_params(b"[]"), Ok(true));
    assert_eq!(check_params(b"null"), Ok(false));
    let long = serde_json::to_vec(&"é".repeat(30)).unwrap();
    // At most 40 bytes, cut at a character boundary.
    let start = check_params(&long).unwrap_err().start().to_owned();
    assert_eq!(start, format!("\"{}", "é".repeat(19)));
    assert_eq!(
        to_params(&()).unwrap().get(),
        "null",
        "no params is null, which the writers leave out"
    );
    assert_eq!(to_params(&[1, 2]).unwrap().get(), "[1,2]");
    let error = to_params(&true).unwrap_err();
    assert_eq!(error.error_code(), Some(ErrorCode::InvalidParams));
    assert_eq!(
        error.message,
        "params must be a JSON array or an object (or null for none), not true"
    );
}

#[test]
fn request_ids_read_as_integers_or_strings_only() {
    let read = |json: &str| serde_json::from_str::<RequestId>(json).ok();
    assert_eq!(read("7"), Some(RequestId::Number(7)));
    assert_eq!(read("-7"), Some(RequestId::Number(-7)));
    assert_eq!(
        read(&i64::MAX.to_string()),
        Some(RequestId::Number(i64::MAX))
    );
    assert_eq!(read(r#""7""#), Some(RequestId::String("7".into())));
    assert_eq!(read(r#""a\"b""#), Some(RequestId::String("a\"b".into())));
    for bad in [
        "9223372036854775808",
        "1.5",
        "1e3",
        "null",
        "true",
        "[1]",
        "{}",
    ] {
        assert_eq!(read(bad), None, "{bad}");
    }
    let error = serde_json::from_str::<RequestId>("1.5")
        .unwrap_err()
        .to_string();
    assert!(error.contains("expected an integer or a string"), "{error}");
    assert_eq!(
        serde_json::from_str::<Option<RequestId>>("null").unwrap(),
        None
    );
}

//! Codec tests against frames built by hand from the protocol description, and
//! leader-following tests against fake nodes.

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::codec::*;
use crate::*;

fn w(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// Text as the wire carries it: bytes, NUL, zero padding to 8.
fn t(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b.resize(pad(b.len()), 0);
    b
}

fn frame(kind: u8, schema: u8, body: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = body.concat();
    assert_eq!(body.len() % 8, 0, "hand-built body must be aligned");
    let mut f = vec![(body.len() / 8) as u8, 0, 0, 0, kind, schema, 0, 0];
    f.extend(body);
    f
}

fn decode_response(f: &[u8]) -> Result<Response> {
    let (h, b) = read_frame(&mut &f[..])?;
    Response::decode(&h, &b)
}

fn decode_request(f: &[u8]) -> Result<Request> {
    let (h, b) = read_frame(&mut &f[..])?;
    Request::decode(&h, &b)
}

fn every_type() -> Vec<Value> {
    vec![
        Value::Integer(-2),
        Value::Float(1.5),
        Value::Text("héllo".into()),
        Value::Blob(vec![1, 2, 3]),
        Value::Null,
        Value::UnixTime(1_700_000_000),
        Value::Iso8601("2024-01-02 03:04:05".into()),
        Value::Boolean(true),
    ]
}

/// The body of `every_type()`, by hand.
fn every_type_body() -> Vec<Vec<u8>> {
    vec![
        (-2i64).to_le_bytes().to_vec(),
        1.5f64.to_bits().to_le_bytes().to_vec(),
        t("héllo"),
        w(3),
        vec![1, 2, 3, 0, 0, 0, 0, 0],
        w(0),
        1_700_000_000i64.to_le_bytes().to_vec(),
        t("2024-01-02 03:04:05"),
        w(1),
    ]
}

#[test]
fn header_layout() {
    let h = Header {
        words: 258,
        kind: 8,
        schema: 1,
        extra: 0,
    };
    assert_eq!(h.encode(), [2, 1, 0, 0, 8, 1, 0, 0]);
    assert_eq!(Header::decode(&[2, 1, 0, 0, 8, 1, 0, 0]), h);
    assert_eq!(h.body_len().unwrap(), 258 * 8);
}

#[test]
fn padding_to_words() {
    for (s, len) in [
        ("", 8),
        ("1234567", 8),
        ("12345678", 16),
        ("123456789012345", 16),
    ] {
        let mut e = Encoder::new();
        e.text(s).unwrap();
        assert_eq!(e.len(), len, "text {s:?}");
        assert_eq!(e.clone().into_body(), t(s));
        assert_eq!(Decoder::new(&t(s)).text().unwrap(), s);
    }
    for (n, len) in [(0usize, 8), (1, 16), (8, 16), (9, 24)] {
        let mut e = Encoder::new();
        e.blob(&vec![7u8; n]);
        assert_eq!(e.len(), len, "blob of {n}");
        let body = e.into_body();
        assert_eq!(&body[..8], &w(n as u64)[..]);
        assert!(
            body[8 + n..].iter().all(|&b| b == 0),
            "blob padding is zero"
        );
        assert_eq!(Decoder::new(&body).blob().unwrap(), vec![7u8; n]);
    }
}

#[test]
fn simple_requests_encode_as_built_by_hand() {
    let cases: Vec<(Request, Vec<u8>)> = vec![
        (Request::Leader, frame(request::LEADER, 0, &[w(0)])),
        (
            Request::Client { id: 7 },
            frame(request::CLIENT, 0, &[w(7)]),
        ),
        (
            Request::Open {
                name: "test.db".into(),
                flags: 0,
                vfs: String::new(),
            },
            frame(request::OPEN, 0, &[t("test.db"), w(0), t("")]),
        ),
        (
            Request::Prepare {
                db: 0,
                sql: "SELECT 1".into(),
            },
            frame(request::PREPARE, 0, &[w(0), t("SELECT 1")]),
        ),
        (
            Request::Exec {
                db: 1,
                stmt: 2,
                params: vec![],
            },
            frame(request::EXEC, 0, &[vec![1, 0, 0, 0, 2, 0, 0, 0]]),
        ),
        (
            Request::Query {
                db: 1,
                stmt: 3,
                params: vec![Value::Integer(5)],
            },
            frame(
                request::QUERY,
                0,
                &[
                    vec![1, 0, 0, 0, 3, 0, 0, 0],
                    vec![1, 1, 0, 0, 0, 0, 0, 0],
                    w(5),
                ],
            ),
        ),
        (
            Request::Finalize { db: 0, stmt: 9 },
            frame(request::FINALIZE, 0, &[vec![0, 0, 0, 0, 9, 0, 0, 0]]),
        ),
        (
            Request::Interrupt { db: 0 },
            frame(request::INTERRUPT, 0, &[w(0)]),
        ),
        (
            Request::Add {
                id: 2,
                address: "127.0.0.1:9002".into(),
            },
            frame(request::ADD, 0, &[w(2), t("127.0.0.1:9002")]),
        ),
        (
            Request::Assign { id: 2, role: 1 },
            frame(request::ASSIGN, 0, &[w(2), w(1)]),
        ),
        (
            Request::Remove { id: 3 },
            frame(request::REMOVE, 0, &[w(3)]),
        ),
        (
            Request::Dump {
                name: "test.db".into(),
            },
            frame(request::DUMP, 0, &[t("test.db")]),
        ),
        (
            Request::Cluster { format: 1 },
            frame(request::CLUSTER, 0, &[w(1)]),
        ),
        (
            Request::Transfer { id: 2 },
            frame(request::TRANSFER, 0, &[w(2)]),
        ),
    ];
    for (req, expected) in cases {
        assert_eq!(req.encode().unwrap(), expected, "{req:?}");
        assert_eq!(decode_request(&expected).unwrap(), req, "decode {req:?}");
    }
}

#[test]
fn exec_sql_with_every_parameter_type() {
    let req = Request::ExecSql {
        db: 0,
        sql: "INSERT INTO t VALUES(?,?,?,?,?,?,?,?)".into(),
        params: every_type(),
    };
    // Schema 0: one-byte count, eight one-byte types (nine bytes, padded to 16).
    let mut body = vec![w(0), t("INSERT INTO t VALUES(?,?,?,?,?,?,?,?)")];
    body.push(vec![8, 1, 2, 3, 4, 5, 9, 10]);
    body.push(vec![11, 0, 0, 0, 0, 0, 0, 0]);
    body.extend(every_type_body());
    let expected = frame(request::EXEC_SQL, 0, &body);
    assert_eq!(req.encode().unwrap(), expected);
    assert_eq!(decode_request(&expected).unwrap(), req);

    let q = Request::QuerySql {
        db: 0,
        sql: "SELECT ?".into(),
        params: vec![Value::Null],
    };
    let expected = frame(
        request::QUERY_SQL,
        0,
        &[w(0), t("SELECT ?"), vec![1, 5, 0, 0, 0, 0, 0, 0], w(0)],
    );
    assert_eq!(q.encode().unwrap(), expected);
}

#[test]
fn many_parameters_use_schema_one() {
    let params: Vec<Value> = (0..300).map(Value::Integer).collect();
    let req = Request::ExecSql {
        db: 0,
        sql: "x".into(),
        params: params.clone(),
    };
    let f = req.encode().unwrap();
    assert_eq!(f[5], 1, "schema 1 for more than 255 parameters");
    let body = &f[8..];
    // db, "x" padded, then the 4-byte count.
    assert_eq!(&body[16..20], &300u32.to_le_bytes());
    assert!(body[20..320].iter().all(|&b| b == value_type::INTEGER));
    // 4 + 300 type bytes = 304, already a multiple of 8: values start right after.
    assert_eq!(&body[320..328], &w(0)[..]);
    assert_eq!(f.len(), 8 + 16 + 304 + 300 * 8);
    assert_eq!(decode_request(&f).unwrap(), req);

    // Seven parameters fill the first word exactly in schema 0 (count + 7 types).
    let seven = Request::ExecSql {
        db: 0,
        sql: "x".into(),
        params: vec![Value::Null; 7],
    };
    let f = seven.encode().unwrap();
    assert_eq!(&f[24..32], &[7, 5, 5, 5, 5, 5, 5, 5]);
    assert_eq!(f.len(), 8 + 16 + 8 + 7 * 8);
}

#[test]
fn responses_decode_from_hand_built_frames() {
    let cases: Vec<(Vec<u8>, Response)> = vec![
        (
            frame(response::FAILURE, 0, &[w(10250), t("not leader")]),
            Response::Failure {
                code: 10250,
                message: "not leader".into(),
            },
        ),
        (
            frame(response::SERVER, 0, &[w(1), t("127.0.0.1:9001")]),
            Response::Server {
                id: 1,
                address: "127.0.0.1:9001".into(),
            },
        ),
        (
            frame(response::SERVER, 0, &[w(0), t("")]),
            Response::Server {
                id: 0,
                address: String::new(),
            },
        ),
        (
            frame(response::WELCOME, 0, &[w(15000)]),
            Response::Welcome {
                heartbeat_timeout: 15000,
            },
        ),
        (
            frame(
                response::SERVERS,
                0,
                &[w(2), w(1), t("a:1"), w(0), w(2), t("b:2"), w(2)],
            ),
            Response::Servers(vec![
                NodeInfo {
                    id: 1,
                    address: "a:1".into(),
                    role: Role::Voter,
                },
                NodeInfo {
                    id: 2,
                    address: "b:2".into(),
                    role: Role::Spare,
                },
            ]),
        ),
        (
            frame(response::DB, 0, &[vec![0, 0, 0, 0, 0, 0, 0, 0]]),
            Response::Db { id: 0 },
        ),
        (
            frame(response::STMT, 0, &[vec![0, 0, 0, 0, 4, 0, 0, 0], w(2)]),
            Response::Stmt {
                db: 0,
                id: 4,
                params: 2,
                offset: None,
            },
        ),
        (
            frame(
                response::STMT,
                1,
                &[vec![0, 0, 0, 0, 4, 0, 0, 0], w(2), w(17)],
            ),
            Response::Stmt {
                db: 0,
                id: 4,
                params: 2,
                offset: Some(17),
            },
        ),
        (
            frame(response::RESULT, 0, &[w(42), w(3)]),
            Response::Result {
                last_insert_id: 42,
                rows_affected: 3,
            },
        ),
        (frame(response::EMPTY, 0, &[w(0)]), Response::Empty),
        (
            frame(
                response::FILES,
                0,
                &[w(2), t("db"), w(8), vec![9; 8], t("db-wal"), w(0)],
            ),
            Response::Files(vec![
                File {
                    name: "db".into(),
                    data: vec![9; 8],
                },
                File {
                    name: "db-wal".into(),
                    data: vec![],
                },
            ]),
        ),
        (
            frame(response::METADATA, 0, &[w(3), w(7)]),
            Response::Metadata {
                failure_domain: 3,
                weight: 7,
            },
        ),
    ];
    for (f, expected) in cases {
        assert_eq!(decode_response(&f).unwrap(), expected, "{f:?}");
        assert_eq!(expected.encode().unwrap(), f, "encode {expected:?}");
    }
}

#[test]
fn row_batch_with_every_column_type() {
    let columns = ["i", "f", "t", "b", "n", "u", "d", "o"];
    let mut body: Vec<Vec<u8>> = vec![w(8)];
    body.extend(columns.iter().map(|c| t(c)));
    // Row 1: eight 4-bit types, low nibble first: 1,2 | 3,4 | 5,9 | 10,11, padded to 8.
    body.push(vec![0x21, 0x43, 0x95, 0xba, 0, 0, 0, 0]);
    body.extend(every_type_body());
    // Row 2: all NULL.
    body.push(vec![0x55, 0x55, 0x55, 0x55, 0, 0, 0, 0]);
    body.extend((0..8).map(|_| w(0)));
    body.push(w(ROWS_DONE));
    let f = frame(response::ROWS, 0, &body);
    let expected = Response::Rows(RowBatch {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: vec![every_type(), vec![Value::Null; 8]],
        more: false,
    });
    assert_eq!(decode_response(&f).unwrap(), expected);
    assert_eq!(expected.encode().unwrap(), f);
}

#[test]
fn row_batch_part_marker_and_wide_rows() {
    // 17 columns: 17 nibbles = 9 bytes, padded to two words.
    let mut body: Vec<Vec<u8>> = vec![w(17)];
    body.extend((0..17).map(|i| t(&format!("c{i}"))));
    body.push(vec![0x11; 8]);
    body.push(vec![0x01, 0, 0, 0, 0, 0, 0, 0]);
    body.extend((0..17).map(|i| w(i as u64)));
    body.push(w(ROWS_PART));
    let f = frame(response::ROWS, 0, &body);
    let Response::Rows(batch) = decode_response(&f).unwrap() else {
        panic!("not rows")
    };
    assert!(batch.more, "PART marker means more batches follow");
    assert_eq!(batch.rows.len(), 1);
    assert_eq!(batch.rows[0][16], Value::Integer(16));
    assert_eq!(Response::Rows(batch).encode().unwrap(), f);

    // An empty result set: no columns, DONE.
    let f = frame(response::ROWS, 0, &[w(0), w(ROWS_DONE)]);
    assert_eq!(
        decode_response(&f).unwrap(),
        Response::Rows(RowBatch::default())
    );
}

#[test]
fn malformed_frames_are_errors() {
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("truncated body", {
            let mut f = frame(response::RESULT, 0, &[w(1), w(2)]);
            f.truncate(16);
            f
        }),
        (
            "unterminated text",
            frame(response::FAILURE, 0, &[w(1), vec![b'a'; 8]]),
        ),
        ("unknown response", frame(42, 0, &[w(0)])),
        ("trailing bytes", frame(response::EMPTY, 0, &[w(0), w(0)])),
        (
            "bad row type",
            frame(
                response::ROWS,
                0,
                &[
                    w(1),
                    t("c"),
                    vec![0x0f, 0, 0, 0, 0, 0, 0, 0],
                    w(0),
                    w(ROWS_DONE),
                ],
            ),
        ),
        (
            "rows without marker",
            frame(
                response::ROWS,
                0,
                &[w(1), t("c"), vec![1, 0, 0, 0, 0, 0, 0, 0], w(5)],
            ),
        ),
        (
            "blob overruns",
            frame(response::FILES, 0, &[w(1), t("db"), w(1 << 40)]),
        ),
        (
            "bad role",
            frame(response::SERVERS, 0, &[w(1), w(1), t("a"), w(9)]),
        ),
        (
            "bad utf-8",
            frame(
                response::FAILURE,
                0,
                &[w(1), vec![0xff, 0xfe, 0, 0, 0, 0, 0, 0]],
            ),
        ),
    ];
    for (what, f) in bad {
        let e = decode_response(&f).expect_err(what);
        assert!(
            matches!(e, Error::Protocol(_) | Error::Io(_)),
            "{what}: {e:?}"
        );
    }
    // A header claiming 32 GiB is refused before anything is allocated.
    let huge = [0xff, 0xff, 0xff, 0xff, response::ROWS, 0, 0, 0];
    assert!(matches!(
        read_frame(&mut &huge[..]),
        Err(Error::Protocol(_))
    ));
    // Text with a NUL cannot be encoded.
    let req = Request::ExecSql {
        db: 0,
        sql: "a\0b".into(),
        params: vec![],
    };
    assert!(matches!(req.encode(), Err(Error::InvalidInput(_))));
}

/// A fake node: answers LEADER with `leader`, OPEN with DB, EXEC_SQL with RESULT after
/// `not_leader_first` NOT_LEADER failures (counted across connections).
fn fake_node(
    leader: Arc<std::sync::Mutex<(u64, String)>>,
    not_leader_first: usize,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let execs = Arc::new(AtomicUsize::new(0));
    let counter = execs.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let leader = leader.clone();
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut hs = [0u8; 8];
                if std::io::Read::read_exact(&mut stream, &mut hs).is_err() {
                    return;
                }
                assert_eq!(u64::from_le_bytes(hs), PROTOCOL_VERSION);
                while let Ok((h, b)) = read_frame(&mut stream) {
                    let resp = match Request::decode(&h, &b).unwrap() {
                        Request::Leader => {
                            let (id, address) = leader.lock().unwrap().clone();
                            Response::Server { id, address }
                        }
                        Request::Open { .. } => Response::Db { id: 0 },
                        Request::ExecSql { .. } => {
                            if counter.fetch_add(1, Ordering::SeqCst) < not_leader_first {
                                Response::Failure {
                                    code: SQLITE_IOERR_NOT_LEADER,
                                    message: "not leader".into(),
                                }
                            } else {
                                Response::Result {
                                    last_insert_id: 1,
                                    rows_affected: 1,
                                }
                            }
                        }
                        Request::QuerySql { .. } => Response::Failure {
                            code: SQLITE_IOERR_LEADERSHIP_LOST,
                            message: "leadership lost".into(),
                        },
                        other => panic!("unexpected {other:?}"),
                    };
                    if stream.write_all(&resp.encode().unwrap()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (address, execs)
}

#[test]
fn cluster_follows_the_leader_and_retries_not_leader() {
    let b_says = Arc::new(std::sync::Mutex::new((0, String::new())));
    let (b, b_execs) = fake_node(b_says.clone(), 2);
    *b_says.lock().unwrap() = (2, b.clone());
    // A is a follower that names B.
    let (a, a_execs) = fake_node(Arc::new(std::sync::Mutex::new((2, b.clone()))), 0);

    let mut cluster =
        Cluster::new([a.clone(), b.clone()], "db").with_retry_for(Duration::from_secs(5));
    let conn = cluster.find_leader().unwrap();
    assert_eq!(conn.address(), b, "A named B, B confirmed");
    drop(conn);

    let r = cluster.exec("INSERT", &[]).unwrap();
    assert_eq!(r.rows_affected, 1);
    assert_eq!(
        a_execs.load(Ordering::SeqCst),
        0,
        "nothing ran on the follower"
    );
    assert_eq!(
        b_execs.load(Ordering::SeqCst),
        3,
        "two NOT_LEADER, then success"
    );

    // LEADERSHIP_LOST: an idempotent read retries until the deadline, then reports it.
    let mut short = Cluster::new([b.clone()], "db").with_retry_for(Duration::from_millis(200));
    let e = short.query("SELECT", &[]).unwrap_err();
    assert_eq!(e.code(), Some(SQLITE_IOERR_LEADERSHIP_LOST));
}

#[test]
fn cluster_without_a_leader_reports_every_node() {
    let (a, _) = fake_node(Arc::new(std::sync::Mutex::new((0, String::new()))), 0);
    // A named leader that denies leading is not trusted.
    let liar_says = Arc::new(std::sync::Mutex::new((9, "127.0.0.1:1".to_string())));
    let (liar, _) = fake_node(liar_says, 0);
    let (c, _) = fake_node(Arc::new(std::sync::Mutex::new((5, liar.clone()))), 0);
    let mut cluster =
        Cluster::new([a.clone(), c.clone()], "db").with_retry_for(Duration::from_millis(100));
    let e = cluster.exec("INSERT", &[]).unwrap_err();
    let Error::NoLeader(msg) = e else {
        panic!("expected NoLeader, got {e:?}")
    };
    assert!(msg.contains(&a) && msg.contains("knows no leader"), "{msg}");
    assert!(msg.contains("does not confirm"), "{msg}");
}

fn value_strategy() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(Value::Float),
        "[^\u{0}]{0,40}".prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Blob),
        Just(Value::Null),
        any::<i64>().prop_map(Value::UnixTime),
        "[0-9: -]{0,25}".prop_map(Value::Iso8601),
        any::<bool>().prop_map(Value::Boolean),
    ]
}

proptest::proptest! {
    /// Any rows and any parameters survive an encode/decode round trip.
    #[test]
    fn rows_and_params_round_trip(
        width in 1usize..20,
        values in proptest::collection::vec(value_strategy(), 0..60),
        more: bool,
    ) {
        let rows: Vec<Vec<Value>> = values.chunks(width).filter(|c| c.len() == width).map(|c| c.to_vec()).collect();
        let batch = RowBatch {
            columns: (0..width).map(|i| format!("c{i}")).collect(),
            rows,
            more,
        };
        let f = Response::Rows(batch.clone()).encode().unwrap();
        proptest::prop_assert_eq!(decode_response(&f).unwrap(), Response::Rows(batch));
        let req = Request::QuerySql { db: 0, sql: "q".into(), params: values };
        proptest::prop_assert_eq!(decode_request(&req.encode().unwrap()).unwrap(), req);
    }

    /// Whatever a hostile peer sends, decoding returns an error or a value, never panics.
    #[test]
    fn arbitrary_bodies_never_panic(
        kind in 0u8..12,
        schema in 0u8..2,
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
    ) {
        let mut body = body;
        body.resize(pad(body.len()), 0);
        let header = Header { words: (body.len() / 8) as u32, kind, schema, extra: 0 };
        let _ = Response::decode(&header, &body);
        let header = Header { kind: kind + 8, ..header };
        let _ = Request::decode(&header, &body);
        let _ = Request::decode(&Header { kind, ..header }, &body);
    }
}

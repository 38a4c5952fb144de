//! A load's users are told apart: each expands its own templates with `{{ user.index }}`,
//! `{{ user.count }}` and its `data:` row, in its URL and its messages, also under `--shard`.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

const NAMES: [&str; 7] = ["ada", "bob", "cy", "dee", "eve", "fay", "gus"];

/// Runs 20 users against a recording echo server and returns what the server received, sorted.
fn run_users(extra: &[&str]) -> (i32, String, Vec<(String, String)>) {
    let (server, received) = common::recording_echo();
    let ws = cli::Workspace::new();
    let mut csv = String::from("name,token\n");
    for (i, name) in NAMES.iter().enumerate() {
        csv.push_str(&format!("{name},t+{i}\n"));
    }
    ws.write("users.csv", &csv);
    let yaml = format!(
        "requests:\n  - name: users\n    url: \"{}/u/{{{{ user.index }}}}\"\n    data: users.csv\n    load: {{ users: 20 }}\n    steps:\n      - send: {{text: \"{{{{ user.index }}}}/{{{{ user.count }}}} {{{{ row.name }}}} {{{{ row.token | urlencode }}}}\"}}\n      - expect: {{text: \"{{{{ user.index }}}}/{{{{ user.count }}}} {{{{ row.name }}}} {{{{ row.token | urlencode }}}}\"}}\n",
        server.url()
    );
    let run = ws.run_collection(&yaml, extra);
    let mut got = received.entries();
    got.sort_by_key(|(path, _)| {
        path.trim_start_matches("/u/")
            .parse::<u64>()
            .unwrap_or(u64::MAX)
    });
    (run.code, run.output(), got)
}

fn expected(users: std::ops::Range<usize>) -> Vec<(String, String)> {
    users
        .map(|i| {
            let name = NAMES[i % NAMES.len()];
            let token = format!("t%2B{}", i % NAMES.len());
            (format!("/u/{i}"), format!("{i}/20 {name} {token}"))
        })
        .collect()
}

#[test]
fn twenty_users_each_send_their_own_index_and_data_row() {
    let (code, output, got) = run_users(&[]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(got, expected(0..20));
}

#[test]
fn a_shard_numbers_its_users_after_the_shards_before_it() {
    // 20 users over 3 shards: 7, 7 and 6; the second shard's are users 7 to 13.
    let (code, output, got) = run_users(&["--shard", "2/3"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(got, expected(7..14));
}

//! Creates the events table in a local DynamoDB-compatible server, as template.yaml defines it
//! (scripts/run.sh, for the local API): `create-events-table ENDPOINT NAME`. A table that exists
//! is kept.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, name] = &args[..] else {
        eprintln!("usage: create-events-table ENDPOINT NAME");
        std::process::exit(2);
    };
    let client = hms_test_support::dynalite::ddb_client(endpoint);
    if let Err(e) = hms_test_support::dynalite::create_table_from_template(&client, name).await {
        eprintln!("create-events-table: {e}");
        std::process::exit(1);
    }
    println!("{name} is ACTIVE at {endpoint}");
}

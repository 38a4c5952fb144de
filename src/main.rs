//! The `wsrun` binary: a thin shell over `wsrun::cli`.

fn main() {
    let code = wsrun::cli::main_with_args(std::env::args().collect());
    std::process::exit(code);
}

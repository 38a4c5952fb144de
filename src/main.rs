//! The `wsrun` binary: a thin shell over `wsrun::main_with_args`.

fn main() {
    let code = wsrun::main_with_args(std::env::args().collect());
    std::process::exit(code);
}

//! The `wsrun` binary: a thin shell over `wsrun::cli`.

/// Per-message JSON values are allocation-heavy; mimalloc serves them faster than glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = wsrun::cli::main_with_args(std::env::args().collect());
    std::process::exit(code);
}

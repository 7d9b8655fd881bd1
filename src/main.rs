//! The `esa-certs` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    esa_certs::cli::main()
}

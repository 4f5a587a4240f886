//! The `zveno` binary: everything lives in the library; see `zveno::cli`.

fn main() -> std::process::ExitCode {
    zveno::cli::main()
}

//! zveno, the daemon and CLI, as a library: `main.rs` only calls [`cli::main`].

pub mod store;

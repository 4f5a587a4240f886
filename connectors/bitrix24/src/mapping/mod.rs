//! Bitrix24 records ↔ the common model. [`read`] maps companies, contacts and tasks (pure,
//! tested table by table) and holds the multifield helpers the write side reuses to edit
//! phones, e-mails and sites without losing their Bitrix24 ids. The write side builds
//! `batch` commands against the portal's current rows and users, so it lives with the calls
//! in `connector::push`.

mod read;

pub use read::*;

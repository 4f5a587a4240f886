//! Bitrix24 connector and simulator (work in progress).

//! Product items of the catalog partition (see docs/data-model.md).

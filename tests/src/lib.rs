//! Steller's integration tests live in `tests/tests/`: whole flows through every
//! function's routes on both engines (dynoxide and the AWS emulator), the local server
//! over HTTP, and the OpenAPI document's agreement with the code.

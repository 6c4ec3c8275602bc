//! Size guarantees the VM's performance relies on.

use weft_vm::{Op, Value};

#[test]
fn value_is_16_bytes() {
    assert!(
        std::mem::size_of::<Value>() <= 16,
        "Value is {} bytes",
        std::mem::size_of::<Value>()
    );
}

#[test]
fn instructions_are_8_bytes() {
    assert!(
        std::mem::size_of::<Op>() <= 8,
        "Op is {} bytes",
        std::mem::size_of::<Op>()
    );
}

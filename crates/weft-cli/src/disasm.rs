//! `weft disasm FILE`: prints every function's bytecode with source positions.

use std::fmt::Write;

use weft_vm::Proto;

use crate::report::compile_file;

/// Disassembles one proto and, after it, its nested functions.
pub fn disassemble(proto: &Proto, out: &mut String) {
    let _ = writeln!(
        out,
        "== {} ({} params, {} registers) ==",
        proto.name,
        proto.params.len(),
        proto.n_regs
    );
    for (i, c) in proto.consts.iter().enumerate() {
        let _ = writeln!(out, "  K{i} = {c:?}");
    }
    for (pc, op) in proto.code.iter().enumerate() {
        let (line, col) = proto.file.line_col(proto.spans[pc].start);
        let _ = writeln!(out, "  {pc:04} {line:>4}:{col:<3} {op}");
    }
    for child in &proto.protos {
        out.push('\n');
        disassemble(child, out);
    }
}

/// `weft disasm FILE`.
pub fn disasm_file(path: &str) -> u8 {
    match compile_file(path) {
        Ok(compiled) => {
            let mut out = String::new();
            disassemble(&compiled.main.proto, &mut out);
            print!("{out}");
            0
        }
        Err(code) => code,
    }
}

//! Picks the board's memory map from the target: thumbv6m runs on the micro:bit (Cortex-M0),
//! anything else on the LM3S6965 evaluation board (Cortex-M3).
use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let (board, memory) = if target.starts_with("thumbv6m") {
        (
            "microbit",
            "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 16K\n}\n",
        )
    } else {
        (
            "lm3s6965evb",
            "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 64K\n}\n",
        )
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rustc-check-cfg=cfg(board, values(\"microbit\", \"lm3s6965evb\"))");
    println!("cargo::rustc-cfg=board=\"{board}\"");
    println!("cargo::rerun-if-changed=build.rs");
}

// Links libinvar: INVAR_LIB_DIR (the directory holding libinvar.so) when set,
// else the linker's default search path (an installed package). Downloads and
// generates nothing.
fn main() {
    println!("cargo:rerun-if-env-changed=INVAR_LIB_DIR");
    if let Some(dir) = std::env::var_os("INVAR_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir.to_string_lossy());
    }
    println!("cargo:rustc-link-lib=invar");
}

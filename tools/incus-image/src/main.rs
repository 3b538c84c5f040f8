fn main() -> std::process::ExitCode {
    incus_image::main()
}

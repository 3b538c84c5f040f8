fn main() -> std::process::ExitCode {
    incus_instance::main()
}

fn main() -> std::process::ExitCode {
    incus_benchmark::main()
}

//! The `capsim` binary: everything lives in the library; see `capsim::cli`.

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    capsim::cli::main()
}

/// glibc's allocator hands memory freed at the top of its heap back to the system once more
/// than 128 KiB is free there, and a replication frees its histograms, slabs and queue as it
/// ends: the next one then faults the same pages in again, zeroed by the kernel. On 10,000
/// one-second replications of one service that was 57 page faults a replication and almost
/// as much system time as simulation (0.95 s against 1.04 s of user time). Kept instead (up
/// to 64 MiB free at the top, and blocks up to 32 MiB taken from the heap rather than mapped
/// and unmapped one by one), the same run takes about 2,000 faults in all, 0.15 s of system
/// time and 30% less wall time, for a peak 2 MiB higher (13.4 MiB against 11.3: the threads'
/// heaps keep what they freed). A single long run is unchanged (M/M/16, 2 x 10^6 customers:
/// 7.8 MiB either way).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    const TRIM_ABOVE_BYTES: libc::c_int = 64 << 20;
    const MAP_ABOVE_BYTES: libc::c_int = 32 << 20;
    // SAFETY: `mallopt` only sets two of the allocator's parameters, and is called before
    // any other thread exists; a parameter it refuses leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_ABOVE_BYTES);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_ABOVE_BYTES);
    }
}

/// Other allocators keep freed memory for reuse without being told.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

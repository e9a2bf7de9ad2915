import Glibc

// Parking support for `SPSCRing`: a semaphore a thread sleeps on once spinning has not helped,
// and a monotonic deadline to bound that sleep.
//
// Why a POSIX semaphore: it is counting, so a post that lands before the waiter reaches
// `sem_*wait` is kept rather than lost, and glibc implements it on a futex, so an uncontended
// post or wait costs one atomic and no system call. (`syscall(SYS_futex, …)` is variadic and
// not callable from Swift.)

/// A point on `CLOCK_MONOTONIC`, which NTP steps and `date -s` cannot move.
@usableFromInline
internal struct MonotonicDeadline: Sendable {
    @usableFromInline
    internal var seconds: Int

    @usableFromInline
    internal var nanoseconds: Int

    /// The monotonic instant `nanoseconds` from now, saturating instead of overflowing.
    @usableFromInline
    internal static func after(nanoseconds delay: Int) -> MonotonicDeadline {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let delay = max(0, delay)
        // Adding whole seconds separately keeps the arithmetic far away from overflow even for
        // `Int.max` delays ("wait practically forever").
        let (extraSeconds, extraNanoseconds) = delay.quotientAndRemainder(dividingBy: 1_000_000_000)
        var seconds = Int(now.tv_sec).addingReportingOverflow(extraSeconds)
        var nanoseconds = now.tv_nsec + extraNanoseconds
        if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            seconds = seconds.partialValue.addingReportingOverflow(1)
        }
        if seconds.overflow {
            return MonotonicDeadline(seconds: Int.max, nanoseconds: 999_999_999)
        }
        return MonotonicDeadline(seconds: seconds.partialValue, nanoseconds: nanoseconds)
    }

    /// The monotonic instant `milliseconds` from now, saturating instead of overflowing.
    @usableFromInline
    internal static func after(milliseconds: Int) -> MonotonicDeadline {
        let (nanoseconds, overflow) = max(0, milliseconds).multipliedReportingOverflow(by: 1_000_000)
        return after(nanoseconds: overflow ? Int.max : nanoseconds)
    }

    /// True once the monotonic clock has reached this deadline.
    @usableFromInline
    internal var hasPassed: Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return (now.tv_sec, now.tv_nsec) >= (seconds, nanoseconds)
    }

    /// This deadline as a `timespec` on `CLOCK_MONOTONIC`.
    internal var monotonicTimespec: timespec {
        timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    }

    /// The same instant expressed on `CLOCK_REALTIME`, for `sem_timedwait`, which knows no other
    /// clock. Recomputed at every wait so a clock step only skews the one wait in flight.
    internal var realtimeTimespec: timespec {
        var monotonicNow = timespec()
        var realtimeNow = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonicNow)
        clock_gettime(CLOCK_REALTIME, &realtimeNow)
        let remainingSeconds = seconds.subtractingReportingOverflow(monotonicNow.tv_sec)
        if remainingSeconds.overflow || remainingSeconds.partialValue > 365 * 24 * 3600 {
            // A wait longer than a year is "forever" for a daemon; it is re-armed on timeout.
            return timespec(tv_sec: realtimeNow.tv_sec + 365 * 24 * 3600, tv_nsec: realtimeNow.tv_nsec)
        }
        var remaining = remainingSeconds.partialValue * 1_000_000_000 + (nanoseconds - monotonicNow.tv_nsec)
        remaining = max(0, remaining)
        var result = realtimeNow
        result.tv_sec += remaining / 1_000_000_000
        result.tv_nsec += remaining % 1_000_000_000
        if result.tv_nsec >= 1_000_000_000 {
            result.tv_sec += 1
            result.tv_nsec -= 1_000_000_000
        }
        return result
    }
}

/// `sem_clockwait(3)` (glibc 2.30+) waits against `CLOCK_MONOTONIC`, so a realtime clock step
/// cannot stretch the engine's pop timeout, which paces its timers. Swift's Glibc module does not
/// export it (it is a GNU extension), so it is looked up once at run time; `nil` falls back to
/// `sem_timedwait` with a realtime deadline.
private typealias SemClockWait = @convention(c) (
    UnsafeMutablePointer<sem_t>?, clockid_t, UnsafePointer<timespec>?
) -> Int32

/// The resolved `sem_clockwait`, if this libc has one.
private let semClockWait: SemClockWait? = {
    // A nil handle is RTLD_DEFAULT in glibc: search the objects already loaded, i.e. libc.
    guard let symbol = dlsym(nil, "sem_clockwait") else { return nil }
    return unsafeBitCast(symbol, to: SemClockWait.self)
}()

/// A heap-allocated POSIX semaphore that one thread parks on; the owner must call `destroy()`.
@usableFromInline
internal struct UnsafeParkingSemaphore: @unchecked Sendable {
    // @unchecked: sem_t is designed to be shared between threads; its address never changes
    // between `init` and `destroy`, which the owning ring calls only from `deinit`.

    @usableFromInline
    internal let semaphore: UnsafeMutablePointer<sem_t>

    /// Allocates and initialises a process-private semaphore with count 0.
    internal init() {
        semaphore = .allocate(capacity: 1)
        let result = sem_init(semaphore, 0, 0)
        precondition(result == 0, "sem_init failed: errno \(errno)")
    }

    /// Destroys and frees the semaphore; no thread may be waiting on it.
    internal func destroy() {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    /// Wakes the parked thread, or lets its next wait return at once.
    @usableFromInline
    internal func post() {
        // Fails only with EINVAL (not a semaphore) or EOVERFLOW (count at SEM_VALUE_MAX); the
        // waker protocol posts at most once per park, so both would mean memory corruption.
        let result = sem_post(semaphore)
        precondition(result == 0, "sem_post failed: errno \(errno)")
    }

    /// Sleeps until posted (true) or until `deadline` (false). Callers treat `true` as a hint and
    /// recheck their condition: a post left over from an earlier, abandoned park can wake them.
    @usableFromInline
    internal func wait(until deadline: MonotonicDeadline) -> Bool {
        while true {
            let result: Int32
            if let semClockWait {
                var when = deadline.monotonicTimespec
                result = semClockWait(semaphore, CLOCK_MONOTONIC, &when)
            } else {
                var when = deadline.realtimeTimespec
                result = sem_timedwait(semaphore, &when)
            }
            if result == 0 { return true }
            let error = errno
            switch error {
            case EINTR:
                // A signal handler ran; nobody posted. Wait again for what is left.
                continue
            case ETIMEDOUT:
                return false
            default:
                preconditionFailure("sem_clockwait/sem_timedwait failed: errno \(error)")
            }
        }
    }
}

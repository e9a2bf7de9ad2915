#if canImport(Glibc)
import Glibc
#endif

/// The sanitizer this test binary was built with (`swift test --sanitize=thread|address`), told by
/// its runtime's exported entry point. The daemons and simulators the tests start come from the
/// same build, so they carry the same sanitizer.
public enum Sanitizer {
    /// Built with ThreadSanitizer.
    public static let thread = hasSymbol("__tsan_init")
    /// Built with AddressSanitizer.
    public static let address = hasSymbol("__asan_init")
    /// Built with either.
    public static var any: Bool { thread || address }

    private static func hasSymbol(_ name: String) -> Bool {
        guard let me = dlopen(nil, RTLD_NOW) else { return false }
        defer { dlclose(me) }
        return dlsym(me, name) != nil
    }
}

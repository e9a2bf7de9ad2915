/// The duty console (`GET /`): a page, its stylesheet and its script — real files in `Console/`,
/// linted by the test command (`scripts/lint-console.py`), embedded in the binary at build time, so
/// there is no CDN and nothing to install beside the daemon: the wall screen works offline.
enum ConsolePage {
    static let html: [UInt8] = PackageResources.console_html
    static let css: [UInt8] = PackageResources.console_css
    static let js: [UInt8] = PackageResources.console_js

    /// The page may load and talk to nothing but its own origin: no inline script or style (the
    /// files above have none; the lint checks it), no plugin, no `<base>`, no form posts, no framing.
    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

import Foundation
import HTTPTypes
import Hummingbird
import MeltWatchCore

/// Who may send a write to the duty API, before any token is looked at (contract §5, "Who may
/// write"): a page open in a duty-room browser must not be able to act for the operator.
///
/// - **JSON only** (415 otherwise). An HTML form can post `text/plain`, `application/x-www-form-urlencoded`
///   and `multipart/form-data` to any site without asking; `application/json` from another origin
///   needs a CORS preflight, which this server never grants. A `text/plain` body that happens to be
///   valid JSON is refused for what it says it is.
/// - **Same origin** (403 otherwise). A browser names the page's origin in `Origin` on every POST;
///   it must be the console's own: `http(s)://<Host>` of this request, or `duty.public_url`'s. Without
///   a tokens file (a loopback listener) the `Host` must be a loopback name or address too, or a
///   DNS-rebinding page (its own name resolving to 127.0.0.1) would be "same origin". `Sec-Fetch-Site`,
///   where the browser sends it, must say `same-origin`. Requests without `Origin` (curl, scripts,
///   other servers) are not browsers' and pass to the token check.
enum WriteGuard {
    enum Verdict: Equatable {
        case allowed
        case refused(HTTPResponse.Status, String)
    }

    static let originField = HTTPField.Name("Origin")!
    static let fetchSiteField = HTTPField.Name("Sec-Fetch-Site")!

    static func check(_ request: Request, hasTokens: Bool, publicURL: String?) -> Verdict {
        check(contentType: request.headers[.contentType], origin: request.headers[originField], fetchSite: request.headers[fetchSiteField],
              host: request.head.authority, hasTokens: hasTokens, publicURL: publicURL)
    }

    static func check(contentType: String?, origin: String?, fetchSite: String?, host: String?, hasTokens: Bool, publicURL: String?) -> Verdict {
        if let site = fetchSite?.lowercased(), site != "same-origin", site != "none" {
            return .refused(.forbidden, "a write must come from the duty console itself, not from another site's page (Sec-Fetch-Site: \(site)) (跨站请求被拒绝)")
        }
        if let origin {
            guard isOwnOrigin(origin, host: host, hasTokens: hasTokens, publicURL: publicURL) else {
                return .refused(.forbidden, "a write must come from the duty console itself, not from \(origin) (跨站请求被拒绝)")
            }
        }
        guard let contentType, isJSON(contentType) else {
            return .refused(.unsupportedMediaType, "a write must be Content-Type: application/json, not \(contentType ?? "none") (仅接受 JSON)")
        }
        return .allowed
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`), in any case.
    static func isJSON(_ contentType: String) -> Bool {
        let media = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return media == "application/json"
    }

    static func isOwnOrigin(_ origin: String, host: String?, hasTokens: Bool, publicURL: String?) -> Bool {
        let o = origin.lowercased()
        if let publicURL, let own = Self.origin(of: publicURL), o == own { return true }
        guard let host = host?.lowercased(), !host.isEmpty else { return false }
        guard o == "http://\(host)" || o == "https://\(host)" else { return false }
        return hasTokens || isLoopback(authority: host)
    }

    /// `scheme://host[:port]` of a URL, lowercased; nil when it has none.
    static func origin(of url: String) -> String? {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.host?.lowercased(), !host.isEmpty else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let defaultPort = (scheme == "https" ? 443 : scheme == "http" ? 80 : nil)
        if let port = c.port, port != defaultPort { return "\(scheme)://\(bracketed):\(port)" }
        return "\(scheme)://\(bracketed)"
    }

    /// Whether a `Host` value (`name[:port]`, `[v6][:port]`) names this machine's loopback.
    static func isLoopback(authority: String) -> Bool {
        var name = authority
        if name.hasPrefix("[") {
            guard let end = name.firstIndex(of: "]") else { return false }
            name = String(name[name.index(after: name.startIndex)..<end])
        } else if let colon = name.lastIndex(of: ":") {
            name = String(name[..<colon])
        }
        return Loopback.isLoopback(host: name)
    }

    /// The token of `Authorization: Bearer <token>`, nil without one.
    static func bearerToken(_ request: Request) -> Substring? {
        guard let header = request.headers[.authorization] else { return nil }
        let prefix = "bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix else { return nil }
        let token = header.dropFirst(prefix.count).drop { $0 == " " }
        return token.isEmpty ? nil : Substring(token)
    }
}

/// Headers on every answer of the duty listener, errors included: no page may frame the console
/// (clickjacking an acknowledge button), no answer is sniffed as another type, no URL leaks in a
/// Referer.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    static var headers: HTTPFields {
        [
            .contentSecurityPolicy: "frame-ancestors 'none'",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            .xContentTypeOptions: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        for field in Self.headers {
            // The console page brings its own, stricter policy (which forbids framing too).
            if field.name == .contentSecurityPolicy, response.headers[.contentSecurityPolicy] != nil { continue }
            response.headers[field.name] = field.value
        }
        return response
    }
}

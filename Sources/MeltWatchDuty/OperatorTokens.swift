import MeltWatchCore
import NIOConcurrencyHelpers

/// The tokens in force, shared by the HTTP handlers and replaced when SIGHUP re-reads the file.
public final class OperatorTokenStore: Sendable {
    public let path: String?
    private let current: NIOLockedValueBox<OperatorTokens?>

    /// `path` nil: no tokens file (loopback only); writes are anonymous-by-name.
    public init(path: String?, tokens: OperatorTokens?) {
        self.path = path
        current = NIOLockedValueBox(tokens)
    }

    /// Reads `path` (nil: no tokens).
    public static func load(_ path: String?) throws(OperatorTokensError) -> OperatorTokenStore {
        guard let path else { return OperatorTokenStore(path: nil, tokens: nil) }
        return OperatorTokenStore(path: path, tokens: try OperatorTokens.load(path))
    }

    /// The tokens now; nil when the duty room has no tokens file.
    public var tokens: OperatorTokens? { current.withLockedValue { $0 } }

    /// Re-reads the file. A file that cannot be used leaves the tokens in force as they were (an
    /// operator typo must not lock the duty room out, nor open it); the error says why.
    @discardableResult
    public func reload() -> Result<Int, OperatorTokensError> {
        guard let path else { return .success(0) }
        do {
            let tokens = try OperatorTokens.load(path)
            current.withLockedValue { $0 = tokens }
            return .success(tokens.operators.count)
        } catch {
            return .failure(error)
        }
    }
}

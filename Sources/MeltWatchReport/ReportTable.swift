/// One table of the report as rows of cells: the single source the HTML, CSV and JSON renderers
/// share, so that the three formats carry the same rows.
public struct ReportTable: Sendable, Equatable {
    /// A column: its JSON key and its headings.
    public struct Column: Sendable, Equatable {
        /// The JSON key (`snake_case`, stable).
        public var key: String
        /// The Chinese heading (for the ledger, exactly the regulator's column name).
        public var title: String
        /// The English heading, shown in parentheses or below.
        public var english: String

        /// Creates a column.
        public init(_ key: String, _ title: String, _ english: String) {
            self.key = key
            self.title = title
            self.english = english
        }
    }

    /// A cell: text, or a number JSON keeps as a number.
    public enum Cell: Sendable, Equatable {
        case text(String)
        case integer(Int64)
        /// A number shown with exactly `decimals` digits after the point.
        case decimal(Double, decimals: Int)
        /// No value: `—` in HTML, an empty field in CSV, `null` in JSON.
        case empty

        /// The cell as the HTML and CSV show it (`—` for empty).
        public var text: String {
            switch self {
            case .text(let s): s
            case .integer(let i): String(i)
            case .decimal(let d, let decimals): ReportFormat.fixed(d, decimals: decimals)
            case .empty: "—"
            }
        }

        /// Text, or empty when the string is empty or nil.
        static func orEmpty(_ s: String?) -> Cell {
            guard let s, !s.isEmpty else { return .empty }
            return .text(s)
        }

        /// An integer, or empty.
        static func orEmpty(_ i: Int64?) -> Cell { i.map { .integer($0) } ?? .empty }
    }

    /// The JSON key and HTML anchor of the table (`ledger`, `interlocks`, …).
    public var id: String
    /// The Chinese title.
    public var title: String
    /// The English title.
    public var english: String
    public var columns: [Column]
    /// Rows, each with one cell per column.
    public var rows: [[Cell]]

    /// `隐患台账 (Hazard ledger)`.
    public var heading: String { "\(title) (\(english))" }
}

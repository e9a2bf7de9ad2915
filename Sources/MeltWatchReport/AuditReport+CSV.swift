import MeltWatchCore

extension AuditReport {
    /// The report as one CSV file for a spreadsheet: every table of ``tables``, in order.
    ///
    /// Layout: UTF-8 with a byte-order mark (so that spreadsheet programs read the Chinese text as
    /// UTF-8), CRLF line ends, fields quoted per RFC 4180 when they hold a comma, quote, CR or LF.
    /// The tables follow one another: each starts with a title row (one field, e.g.
    /// `隐患台账 (Hazard ledger)`), then its header row (the Chinese column names), then its rows;
    /// one empty line separates a table from the next. Empty cells are empty fields.
    ///
    /// A text field that starts with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so that a
    /// spreadsheet shows it instead of evaluating it as a formula (messages and plant names are free
    /// text from the config); numeric cells are never altered.
    public func csv() -> String {
        var out = "\u{FEFF}"
        for (i, table) in tables.enumerated() {
            if i > 0 { out += "\r\n" }
            Self.appendRecord([Self.csvField(table.heading)], to: &out)
            Self.appendRecord(table.columns.map { Self.csvField($0.title) }, to: &out)
            for row in table.rows {
                Self.appendRecord(row.map(Self.csvField(_:)), to: &out)
            }
        }
        return out
    }

    private static func appendRecord(_ fields: [String], to out: inout String) {
        out += fields.joined(separator: ",")
        out += "\r\n"
    }

    static func csvField(_ cell: ReportTable.Cell) -> String {
        switch cell {
        case .text(let s): csvField(neutralized(s))
        case .empty: ""
        case .integer, .decimal: cell.text
        }
    }

    /// RFC 4180: quoted (quotes doubled) when it holds a comma, quote, CR or LF.
    static func csvField(_ s: String) -> String {
        let needsQuotes = s.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
        guard needsQuotes else { return s }
        var quoted = "\""
        for ch in s.unicodeScalars {
            if ch == "\"" { quoted += "\"\"" } else { quoted.unicodeScalars.append(ch) }
        }
        return quoted + "\""
    }

    /// Prefixes `'` to text a spreadsheet would take for a formula.
    static func neutralized(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return s }
        return "'" + s
    }
}

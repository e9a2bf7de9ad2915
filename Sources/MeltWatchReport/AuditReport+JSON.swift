import MeltWatchCore

extension AuditReport {
    /// The schema tag of ``json()``.
    public static let jsonSchema = "meltwatch.report/1"

    /// The report as one JSON document with the same rows as the HTML tables, keys in a fixed order:
    ///
    /// ```
    /// {"schema": "meltwatch.report/1", "plant": {"id": …, "name": …},
    ///  "period": {"from": RFC 3339 UTC, "to": …}, "generated_at": …, "config_hash": …,
    ///  "tables": [{"id": "ledger", "title": "隐患台账", "title_en": "Hazard ledger",
    ///              "columns": [{"key": "index", "title": "序号", "title_en": "No."}, …],
    ///              "rows": [{"index": 1, "plant": "…", …}, …]}, …]}
    /// ```
    ///
    /// Row keys follow the column order; integers and decimals are JSON numbers, empty cells `null`,
    /// times the same China Standard Time strings as the tables (the header times are RFC 3339 UTC).
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.string(Self.jsonSchema)
        w.key("plant"); w.beginObject()
        w.key("id"); w.string(plantID)
        w.key("name"); w.string(plantName)
        w.endObject()
        w.key("period"); w.beginObject()
        w.key("from"); w.string(from.rfc3339)
        w.key("to"); w.string(to.rfc3339)
        w.endObject()
        w.key("generated_at"); w.string(generatedAt.rfc3339)
        w.key("config_hash"); w.string(configHash)
        w.key("tables"); w.beginArray()
        for table in tables {
            w.beginObject()
            w.key("id"); w.string(table.id)
            w.key("title"); w.string(table.title)
            w.key("title_en"); w.string(table.english)
            table.writeColumnsAndRows(into: &w)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.output
    }
}

extension ReportTable {
    /// `"columns": [{"key","title","title_en"}…], "rows": [{key: value}…]` into an open object: row
    /// keys in column order, integers and decimals JSON numbers, empty cells `null`.
    func writeColumnsAndRows(into w: inout JSONWriter) {
        w.key("columns"); w.beginArray()
        for c in columns {
            w.beginObject()
            w.key("key"); w.string(c.key)
            w.key("title"); w.string(c.title)
            w.key("title_en"); w.string(c.english)
            w.endObject()
        }
        w.endArray()
        w.key("rows"); w.beginArray()
        for row in rows {
            w.beginObject()
            for (c, cell) in zip(columns, row) {
                w.key(c.key)
                switch cell {
                case .text(let s): w.string(s)
                case .integer(let i): w.integer(i)
                // Rounded as the table shows it, so that JSON and HTML carry the same figure.
                case .decimal(let d, _): w.number(Double(cell.text) ?? d)
                case .empty: w.string(nil)
                }
            }
            w.endObject()
        }
        w.endArray()
    }
}

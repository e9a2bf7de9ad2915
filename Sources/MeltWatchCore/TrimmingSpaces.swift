extension String {
    /// Without leading and trailing white space (Foundation-free): an operator's name or a reason that
    /// is only blanks is no name or reason.
    public var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}

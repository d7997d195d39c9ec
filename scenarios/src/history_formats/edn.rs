//! A small, strict reader for the subset of EDN that Jepsen and Knossos histories use:
//! nil, booleans, integers, floats, strings, keywords, symbols, vectors, lists, maps, sets,
//! tagged values, `;` comments and `#_` discards. Every value keeps its line and column so
//! that the format readers can point at what is wrong.

use super::ParseError;

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    /// `nil`
    Nil,
    /// `true` or `false`
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string, escapes resolved.
    Str(String),
    /// A keyword, without its leading colon.
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// `[...]`
    Vector(Vec<Spanned>),
    /// `(...)`
    List(Vec<Spanned>),
    /// `#{...}`
    Set(Vec<Spanned>),
    /// `{k v ...}`, in file order.
    Map(Vec<(Spanned, Spanned)>),
    /// `#tag value`
    Tagged(String, Box<Spanned>),
}

/// A value and where it starts (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    /// The value.
    pub value: Edn,
    /// Its line.
    pub line: usize,
    /// Its column, in characters.
    pub column: usize,
}

impl Spanned {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> String {
        match &self.value {
            Edn::Nil => "nil".into(),
            Edn::Bool(b) => b.to_string(),
            Edn::Int(i) => format!("integer {i}"),
            Edn::Float(f) => format!("number {f}"),
            Edn::Str(s) => format!("string {s:?}"),
            Edn::Keyword(k) => format!(":{k}"),
            Edn::Symbol(s) => format!("symbol {s}"),
            Edn::Vector(_) => "a vector".into(),
            Edn::List(_) => "a list".into(),
            Edn::Set(_) => "a set".into(),
            Edn::Map(_) => "a map".into(),
            Edn::Tagged(t, _) => format!("#{t} value"),
        }
    }

    /// An error pointing at this value.
    pub fn error(&self, expected: impl Into<String>) -> ParseError {
        ParseError::new(self.line, self.column, expected, self.kind())
    }

    /// The value under keyword `key` if this is a map.
    pub fn get(&self, key: &str) -> Option<&Spanned> {
        match &self.value {
            Edn::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Edn::Keyword(name) if name == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Reads every top-level value of `text`.
pub fn parse_all(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut reader = Reader {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        column: 1,
        depth: 0,
    };
    let mut values = Vec::new();
    loop {
        reader.skip_blank()?;
        if reader.peek().is_none() {
            return Ok(values);
        }
        values.push(reader.value()?);
    }
}

struct Reader {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
    /// Open collections, bounded so that hostile input cannot overflow the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 256;

fn is_symbol_char(c: char) -> bool {
    c.is_alphanumeric() || ".*+!-_?$%&=<>/'#:".contains(c)
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error_here(&self, expected: &str) -> ParseError {
        let found = match self.peek() {
            None => "end of input".to_string(),
            Some(c) => format!("{c:?}"),
        };
        ParseError::new(self.line, self.column, expected, found)
    }

    /// Skips whitespace, commas, comments and `#_` discarded values.
    fn skip_blank(&mut self) -> Result<(), ParseError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == ',' => {
                    self.bump();
                }
                Some(';') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                Some('#') if self.chars.get(self.pos + 1) == Some(&'_') => {
                    self.bump();
                    self.bump();
                    self.nested(|r| {
                        r.skip_blank()?;
                        r.value()
                    })?;
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self) -> Result<Spanned, ParseError> {
        let (line, column) = (self.line, self.column);
        let value = match self.peek() {
            None => return Err(self.error_here("a value")),
            Some('[') => {
                self.bump();
                Edn::Vector(self.sequence(']')?)
            }
            Some('(') => {
                self.bump();
                Edn::List(self.sequence(')')?)
            }
            Some('{') => {
                self.bump();
                let items = self.sequence('}')?;
                if items.len() % 2 == 1 {
                    let last = &items[items.len() - 1];
                    return Err(ParseError::new(
                        last.line,
                        last.column,
                        "a value for this key (a map needs an even number of forms)",
                        "'}'",
                    ));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Edn::Map(entries)
            }
            Some('#') => {
                self.bump();
                if self.peek() == Some('{') {
                    self.bump();
                    Edn::Set(self.sequence('}')?)
                } else {
                    let tag = self.token();
                    if tag.is_empty() {
                        return Err(self.error_here("a tag, '{' or '_' after '#'"));
                    }
                    let value = self.nested(|r| {
                        r.skip_blank()?;
                        r.value()
                    })?;
                    Edn::Tagged(tag, Box::new(value))
                }
            }
            Some('"') => {
                self.bump();
                Edn::Str(self.string()?)
            }
            Some(':') => {
                self.bump();
                let name = self.token();
                if name.is_empty() {
                    return Err(self.error_here("a keyword name after ':'"));
                }
                Edn::Keyword(name)
            }
            Some(c) if is_symbol_char(c) => {
                let token = self.token();
                atom(&token).ok_or_else(|| {
                    ParseError::new(
                        line,
                        column,
                        "a number, symbol, nil, true or false",
                        format!("{token:?}"),
                    )
                })?
            }
            Some(_) => return Err(self.error_here("a value")),
        };
        Ok(Spanned {
            value,
            line,
            column,
        })
    }

    fn token(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek().filter(|&c| is_symbol_char(c)) {
            s.push(c);
            self.bump();
        }
        s
    }

    /// Runs `read` one level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if self.depth == MAX_DEPTH {
            return Err(ParseError::new(
                self.line,
                self.column,
                format!("values nested at most {MAX_DEPTH} deep"),
                "deeper nesting",
            ));
        }
        self.depth += 1;
        let result = read(self);
        self.depth -= 1;
        result
    }

    fn sequence(&mut self, close: char) -> Result<Vec<Spanned>, ParseError> {
        self.nested(|r| r.items(close))
    }

    fn items(&mut self, close: char) -> Result<Vec<Spanned>, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(']' | ')' | '}') | None => {
                    return Err(self.error_here(&format!("a value or {close:?}")));
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error_here("a closing '\"'")),
                Some('"') => return Ok(s),
                Some('\\') => {
                    let c = match self.bump() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('u') => {
                            let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                            u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error_here("four hex digits after \\u"))?
                        }
                        _ => {
                            return Err(
                                self.error_here("an escape: \\n \\t \\r \\\" \\\\ or \\uXXXX")
                            );
                        }
                    };
                    s.push(c);
                }
                Some(c) => s.push(c),
            }
        }
    }
}

/// A bare token: nil, a boolean, a number or a symbol.
fn atom(token: &str) -> Option<Edn> {
    match token {
        "nil" => return Some(Edn::Nil),
        "true" => return Some(Edn::Bool(true)),
        "false" => return Some(Edn::Bool(false)),
        _ => {}
    }
    let first = token.chars().next()?;
    let numeric = first.is_ascii_digit()
        || ((first == '-' || first == '+')
            && token.chars().nth(1).is_some_and(|c| c.is_ascii_digit()));
    if !numeric {
        return Some(Edn::Symbol(token.to_string()));
    }
    let digits = token.strip_suffix('N').unwrap_or(token);
    if let Ok(i) = digits.parse::<i64>() {
        return Some(Edn::Int(i));
    }
    let float = token.strip_suffix('M').unwrap_or(token);
    float.parse::<f64>().ok().map(Edn::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_history_subset() {
        let v = parse_all("; c\n[{:process 1, :type :invoke :f :cas, :value [1 -2]} #_ x nil]")
            .unwrap();
        assert_eq!(v.len(), 1);
        let Edn::Vector(items) = &v[0].value else {
            panic!("not a vector")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].get("process").unwrap().value, Edn::Int(1));
        assert_eq!(
            items[0].get("value").unwrap().value,
            Edn::Vector(vec![
                Spanned {
                    value: Edn::Int(1),
                    line: 2,
                    column: 46
                },
                Spanned {
                    value: Edn::Int(-2),
                    line: 2,
                    column: 48
                }
            ])
        );
        assert_eq!(items[1].value, Edn::Nil);
        assert_eq!((items[1].line, items[1].column), (2, 58));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse_all("[{:a 1}\n {:b }]").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let e = parse_all("[1 2").unwrap_err();
        assert_eq!((e.line, e.column), (1, 5));
        assert!(e.expected.contains("']'"), "{e}");
        let e = parse_all("\"abc").unwrap_err();
        assert!(e.to_string().contains("closing"), "{e}");
        let e = parse_all("[1 ]]").unwrap_err();
        assert_eq!((e.line, e.column), (1, 5));
        for deep in ["[", "#_", "#a ", "{:a "] {
            let e = parse_all(&deep.repeat(100_000)).unwrap_err();
            assert!(e.expected.contains("nested"), "{deep}: {e}");
        }
    }

    #[test]
    fn strings_and_tags() {
        let v = parse_all(r#"#inst "2020" "a\"b\u0041" #{1 2} 1.5 3N"#).unwrap();
        assert!(matches!(&v[0].value, Edn::Tagged(t, _) if t == "inst"));
        assert_eq!(v[1].value, Edn::Str("a\"bA".into()));
        assert!(matches!(&v[2].value, Edn::Set(s) if s.len() == 2));
        assert_eq!(v[3].value, Edn::Float(1.5));
        assert_eq!(v[4].value, Edn::Int(3));
    }
}

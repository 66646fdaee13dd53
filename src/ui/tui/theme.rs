//! Colours and symbols. Colour never carries meaning alone: every coloured mark has a
//! symbol and a word beside it. `NO_COLOR` turns colour off; a terminal without UTF-8
//! gets ASCII symbols.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub unicode: bool,
}

impl Theme {
    /// From the environment: `NO_COLOR` (any non-empty value) and the locale.
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        Self {
            color: !no_color,
            unicode: locale.contains("utf-8") || locale.contains("utf8"),
        }
    }

    pub const fn default_color() -> Self {
        Self {
            color: true,
            unicode: true,
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn fail(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn running(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn accent(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The focused input or option: reverse video works without colour too.
    pub fn focus(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn input(self) -> Style {
        if self.color {
            Style::new().bg(Color::Indexed(236)).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    pub fn sym_ok(self) -> &'static str {
        if self.unicode { "✓" } else { "+" }
    }

    pub fn sym_warn(self) -> &'static str {
        "!"
    }

    pub fn sym_fail(self) -> &'static str {
        if self.unicode { "✗" } else { "x" }
    }

    pub fn sym_running(self) -> &'static str {
        if self.unicode { "…" } else { ">" }
    }

    pub fn sym_focus(self) -> &'static str {
        if self.unicode { "›" } else { ">" }
    }

    pub fn radio(self, on: bool) -> &'static str {
        match (on, self.unicode) {
            (true, true) => "(•)",
            (true, false) => "(*)",
            (false, _) => "( )",
        }
    }

    pub fn mask_char(self) -> char {
        if self.unicode { '•' } else { '*' }
    }

    pub fn bar(self) -> (char, char) {
        if self.unicode {
            ('█', '░')
        } else {
            ('#', '-')
        }
    }

    pub fn sep(self) -> &'static str {
        if self.unicode { " · " } else { " | " }
    }
}

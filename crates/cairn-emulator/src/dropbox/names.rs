//! Vocabulary for the generator: people, teams, folders and realistic file names.
//!
//! A few entries carry non-ASCII characters on purpose: clients must escape them in
//! `Dropbox-API-Arg` (research note §4), and a generated team should exercise that.

use super::rng::Rng;

/// Team names.
pub const TEAMS: [&str; 8] = [
    "Northwind Traders",
    "Acme Logistics",
    "Bluefin Analytics",
    "Harbor & Pine Architects",
    "Meridian Health Partners",
    "Copperleaf Media",
    "Summit Legal Group",
    "Lumen Energy",
];

/// Given names.
pub const GIVEN: [&str; 40] = [
    "Ana", "Ben", "Chloé", "David", "Elena", "Farid", "Grace", "Hiro", "Isabel", "Jonas", "Kavya",
    "Liam", "Maya", "Noah", "Olivia", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe", "Aiden", "Bianca", "Carlos", "Dana", "Emil", "Fatima",
    "Gustav", "Hana", "Ivan", "Julia", "Kenji", "Lena", "Mateo", "Nora",
];

/// Surnames.
pub const SURNAMES: [&str; 40] = [
    "Lopez",
    "Carter",
    "Dubois",
    "Kim",
    "Novak",
    "Haddad",
    "Okafor",
    "Tanaka",
    "Rossi",
    "Schmidt",
    "Iyer",
    "Murphy",
    "Cohen",
    "Silva",
    "Johansson",
    "Nguyen",
    "Brennan",
    "Müller",
    "Petrov",
    "Shah",
    "Walsh",
    "Costa",
    "Chen",
    "Garcia",
    "Yilmaz",
    "Andersen",
    "Fischer",
    "Moreau",
    "Patel",
    "Ortiz",
    "Larsen",
    "Rahman",
    "Berg",
    "Sato",
    "Kowalski",
    "Weber",
    "Mori",
    "Jensen",
    "Ramos",
    "Lindqvist",
];

/// Team folder names.
pub const TEAM_FOLDERS: [&str; 12] = [
    "Finance",
    "Marketing",
    "Engineering",
    "Legal",
    "Sales",
    "Human Resources",
    "Operations",
    "Design",
    "Customer Success",
    "Product",
    "Executive",
    "IT",
];

/// Shared folder names.
pub const SHARED_FOLDERS: [&str; 10] = [
    "Project Atlas",
    "Board Meeting Prep",
    "Website Redesign",
    "Office Move 2025",
    "Conference Talks",
    "Vendor Evaluation",
    "Offsite Photos",
    "Q4 Planning",
    "Hiring Panel",
    "Brand Refresh",
];

/// Top-level folders in member homes.
pub const HOME_FOLDERS: [&str; 10] = [
    "Documents",
    "Photos",
    "Projects",
    "Archive",
    "Clients",
    "Receipts",
    "Presentations",
    "Notes",
    "Downloads",
    "Personal",
];

/// Top-level folders in team and shared folders.
pub const SHARED_SUBFOLDERS: [&str; 10] = [
    "2023",
    "2024",
    "2025",
    "Contracts",
    "Reports",
    "Templates",
    "Invoices",
    "Meeting Notes",
    "Assets",
    "Résumés",
];

/// Nested folder names.
pub const SUBFOLDERS: [&str; 16] = [
    "Drafts",
    "Final",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "Old",
    "Scans",
    "Exports",
    "Acme Corp",
    "Globex",
    "Initech",
    "Working",
    "Review",
    "Shared with clients",
    "Données",
];

const TOPICS: [&str; 20] = [
    "Marketing",
    "Budget",
    "Sales",
    "Roadmap",
    "Hiring",
    "Onboarding",
    "Quarterly",
    "Annual",
    "Client",
    "Board",
    "Product",
    "Security",
    "Vendor",
    "Pricing",
    "Launch",
    "Training",
    "Compliance",
    "Forecast",
    "Partner",
    "Research",
];

const DOC_TYPES: [&str; 12] = [
    "Plan",
    "Report",
    "Proposal",
    "Review",
    "Summary",
    "Agreement",
    "Policy",
    "Brief",
    "Checklist",
    "Overview",
    "Analysis",
    "Minutes",
];

const NON_ASCII: [&str; 6] = [
    "Présentation client",
    "Überblick",
    "報告書",
    "Café menu",
    "naïve résumé",
    "Año fiscal",
];

/// A category of file: extensions and a raw size range (log-uniform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Office documents and PDFs.
    Document,
    /// Small text files.
    Text,
    /// Photos and screenshots.
    Image,
    /// Video and audio recordings.
    Video,
    /// Archives and backups.
    Archive,
    /// Design sources.
    Design,
}

impl Category {
    /// Picks a category with realistic weights.
    pub fn pick(rng: &mut Rng) -> Self {
        match rng.below(100) {
            0..30 => Self::Document,
            30..45 => Self::Text,
            45..78 => Self::Image,
            78..86 => Self::Video,
            86..93 => Self::Archive,
            _ => Self::Design,
        }
    }

    /// Raw size bounds in bytes before scaling to the team's byte budget.
    #[must_use]
    pub fn size_bounds(self) -> (f64, f64) {
        match self {
            Self::Document => (20e3, 8e6),
            Self::Text => (5.0, 500e3),
            Self::Image => (200e3, 12e6),
            Self::Video => (5e6, 900e6),
            Self::Archive => (1e6, 600e6),
            Self::Design => (1e6, 200e6),
        }
    }

    /// Draws a raw size, log-uniform within the bounds.
    pub fn raw_size(self, rng: &mut Rng) -> f64 {
        let (lo, hi) = self.size_bounds();
        (lo.ln() + rng.unit() * (hi.ln() - lo.ln())).exp()
    }

    /// A realistic file name (the caller makes it unique within its folder).
    pub fn file_name(self, rng: &mut Rng) -> String {
        let year = rng.range(2019, 2025);
        let month = rng.range(1, 12);
        let day = rng.range(1, 28);
        if rng.chance(0.03) {
            let ext = match self {
                Self::Text => "txt",
                Self::Image => "jpg",
                Self::Video => "mp4",
                Self::Archive => "zip",
                Self::Design => "psd",
                Self::Document => *rng.pick(&["pdf", "docx"]),
            };
            return format!("{} {year}.{ext}", rng.pick(&NON_ASCII));
        }
        match self {
            Self::Document => {
                let ext = *rng.pick(&["pdf", "docx", "xlsx", "pptx", "pdf", "docx"]);
                match rng.below(4) {
                    0 => format!("Invoice INV-{}.pdf", rng.range(10_000, 99_999)),
                    1 => format!(
                        "{} {} Q{} {year}.{ext}",
                        rng.pick(&TOPICS),
                        rng.pick(&DOC_TYPES),
                        rng.range(1, 4)
                    ),
                    2 => format!(
                        "{} {} v{}.{ext}",
                        rng.pick(&TOPICS),
                        rng.pick(&DOC_TYPES),
                        rng.range(1, 9)
                    ),
                    _ => format!(
                        "{} {} - {year}-{month:02}.{ext}",
                        rng.pick(&TOPICS),
                        rng.pick(&DOC_TYPES)
                    ),
                }
            }
            Self::Text => match rng.below(5) {
                0 => format!("meeting-notes-{year}-{month:02}-{day:02}.txt"),
                1 => format!(
                    "{}_export_{year}{month:02}.csv",
                    rng.pick(&["customers", "orders", "leads", "inventory"])
                ),
                2 => "README.md".to_owned(),
                3 => format!("server-{year}-{month:02}-{day:02}.log"),
                _ => format!(
                    "{}.json",
                    rng.pick(&["config", "settings", "manifest", "contacts"])
                ),
            },
            Self::Image => match rng.below(4) {
                0 => format!("IMG_{}.jpg", rng.range(1000, 9999)),
                1 => format!(
                    "Screenshot {year}-{month:02}-{day:02} at {}.{:02}.{:02}.png",
                    rng.range(8, 19),
                    rng.below(60),
                    rng.below(60)
                ),
                2 => format!("DSC{:05}.JPG", rng.range(1, 99_999)),
                _ => format!(
                    "{}-{}.png",
                    rng.pick(&["logo", "banner", "diagram", "mockup"]),
                    rng.pick(&["final", "v2", "draft", "dark"])
                ),
            },
            Self::Video => match rng.below(3) {
                0 => format!("VID_{year}{month:02}{day:02}_{:06}.mp4", rng.below(240_000)),
                1 => format!(
                    "{} recording {year}.m4a",
                    rng.pick(&["Interview", "Call", "Webinar"])
                ),
                _ => format!(
                    "{} {year}.mov",
                    rng.pick(&["Team offsite", "Product demo", "Training session"])
                ),
            },
            Self::Archive => format!(
                "{} {} {year}.zip",
                rng.pick(&TOPICS),
                rng.pick(&["backup", "export", "archive", "assets"])
            ),
            Self::Design => format!(
                "{} {}.{}",
                rng.pick(&["Homepage", "Brochure", "Poster", "Icon set", "Packaging"]),
                rng.pick(&["concept", "final", "v3"]),
                rng.pick(&["psd", "ai", "svg"])
            ),
        }
    }
}

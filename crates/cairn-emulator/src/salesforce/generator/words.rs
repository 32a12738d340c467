//! Word lists the text generator draws from.

/// Given names.
#[rustfmt::skip]
pub const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Christopher", "Karen", "Charles", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Laura",
    "Edward", "Sharon", "Jeffrey", "Cynthia", "Ryan", "Kathleen", "Jacob", "Amy", "Gary",
    "Angela", "Nicholas", "Shirley", "Eric", "Anna", "Jonathan", "Brenda", "Stephen", "Pamela",
    "Larry", "Emma", "Justin", "Nicole", "Scott", "Helen", "Brandon", "Samantha", "Benjamin",
    "Katherine", "Samuel", "Christine", "Gregory", "Debra", "Alexander", "Rachel", "Patrick",
    "Carolyn", "Frank", "Janet", "Raymond", "Maria", "Jack", "Olivia", "Dennis", "Heather",
    "Jerry", "Diane", "Tyler", "Julie", "Aaron", "Joyce", "Henrik", "Ingrid", "Lars", "Sofia",
    "Mateo", "Lucia", "Hiroshi", "Yuki", "Chen", "Wei", "Priya", "Arjun", "Fatima", "Omar",
    "Amara", "Kwame", "Zoe", "Liam", "Noah", "Ava", "Mia", "Lukas", "Elena", "Giulia", "Marco",
    "Aoife", "Siobhan", "Dmitri", "Olga", "Ana", "Joao", "Camille", "Hugo", "Freya", "Nils",
];

/// Family names.
#[rustfmt::skip]
pub const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner",
    "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
    "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey",
    "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks",
    "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Lindqvist",
    "Johansson", "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Rossi", "Russo",
    "Ferrari", "Dubois", "Lefevre", "Moreau", "Tanaka", "Suzuki", "Takahashi", "Watanabe", "Wang",
    "Li", "Zhang", "Liu", "Chen", "Singh", "Kumar", "Sharma", "Okafor", "Mensah", "Haddad",
    "Kowalski", "Nowak", "Novak", "O'Brien", "O'Connor", "McCarthy", "Byrne", "Ivanova", "Petrov",
    "Silva", "Santos", "Oliveira", "Costa", "Fernandes", "Larsen", "Hansen", "Nielsen",
    "Virtanen",
];

/// First words of company names.
#[rustfmt::skip]
pub const COMPANY_FIRST: &[&str] = &[
    "Acme", "Northwind", "Blue Harbor", "Meridian", "Summit", "Evergreen", "Pinnacle", "Redwood",
    "Silverline", "Ironclad", "Brightwater", "Cobalt", "Granite", "Horizon", "Juniper",
    "Keystone", "Lakeshore", "Maple", "Nimbus", "Oakridge", "Pioneer", "Quantum", "Riverbend",
    "Sterling", "Tidewater", "Unity", "Vanguard", "Westfield", "Yellowstone", "Zenith", "Atlas",
    "Beacon", "Cascade", "Delta", "Echo", "Falcon", "Golden Gate", "Highland", "Insight", "Jade",
    "Kestrel", "Lumen", "Monarch", "Nova", "Orion", "Polaris", "Crescent", "Sapphire", "Trident",
    "Aurora", "Bluebird", "Copperfield", "Driftwood", "Emerald", "Foxglove", "Glacier",
];
/// Second words of company names.
#[rustfmt::skip]
pub const COMPANY_SECOND: &[&str] = &[
    "Logistics", "Analytics", "Health", "Manufacturing", "Foods", "Energy", "Capital", "Software",
    "Systems", "Consulting", "Partners", "Industries", "Labs", "Networks", "Retail", "Outfitters",
    "Biotech", "Media", "Freight", "Construction", "Insurance", "Telecom", "Hospitality",
    "Robotics", "Materials", "Pharma", "Solar", "Design", "Engineering", "Finance",
];
/// Legal suffixes (often none).
#[rustfmt::skip]
pub const COMPANY_SUFFIX: &[&str] = &[
    "Inc.", "LLC", "Ltd", "GmbH", "Corp.", "Group", "Co.", "S.A.", "AG", "plc", "", "", "",
];

/// (city, state, country, postal code pattern with `#` for digits, phone prefix).
#[rustfmt::skip]
pub const PLACES: &[(&str, &str, &str, &str, &str)] = &[
    ("San Francisco", "CA", "United States", "941##", "+1 415"),
    ("New York", "NY", "United States", "100##", "+1 212"),
    ("Chicago", "IL", "United States", "606##", "+1 312"),
    ("Austin", "TX", "United States", "787##", "+1 512"),
    ("Seattle", "WA", "United States", "981##", "+1 206"),
    ("Boston", "MA", "United States", "021##", "+1 617"),
    ("Denver", "CO", "United States", "802##", "+1 303"),
    ("Atlanta", "GA", "United States", "303##", "+1 404"),
    ("Miami", "FL", "United States", "331##", "+1 305"),
    ("Portland", "OR", "United States", "972##", "+1 503"),
    ("Minneapolis", "MN", "United States", "554##", "+1 612"),
    ("Phoenix", "AZ", "United States", "850##", "+1 602"),
    ("Toronto", "ON", "Canada", "M5V #A#", "+1 416"),
    ("Vancouver", "BC", "Canada", "V6B #C#", "+1 604"),
    ("London", "", "United Kingdom", "EC1A #BB", "+44 20"),
    ("Manchester", "", "United Kingdom", "M1 #AE", "+44 161"),
    ("Dublin", "", "Ireland", "D0# X###", "+353 1"), ("Berlin", "", "Germany", "101##", "+49 30"),
    ("Munich", "BY", "Germany", "803##", "+49 89"), ("Paris", "", "France", "750##", "+33 1"),
    ("Lyon", "", "France", "690##", "+33 4"),
    ("Amsterdam", "", "Netherlands", "10## AB", "+31 20"),
    ("Stockholm", "", "Sweden", "111 ##", "+46 8"), ("Madrid", "", "Spain", "280##", "+34 91"),
    ("Milan", "MI", "Italy", "201##", "+39 02"),
    ("Zurich", "ZH", "Switzerland", "80##", "+41 44"),
    ("Sydney", "NSW", "Australia", "2###", "+61 2"),
    ("Melbourne", "VIC", "Australia", "3###", "+61 3"),
    ("Tokyo", "", "Japan", "100-####", "+81 3"), ("Singapore", "", "Singapore", "0#####", "+65"),
];

/// Street names.
#[rustfmt::skip]
pub const STREETS: &[&str] = &[
    "Market", "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill",
    "Park", "River", "Mission", "Harbor", "Church", "High", "King", "Queen", "Station", "Mill",
    "Bridge", "Victoria", "Sunset", "Broadway", "Franklin", "Jefferson", "Madison", "Union",
];
/// Street kinds.
#[rustfmt::skip]
pub const STREET_KINDS: &[&str] = &[
    "Street", "Avenue", "Road", "Boulevard", "Lane", "Drive", "Way", "Place", "Court",
];

/// Job titles.
#[rustfmt::skip]
pub const TITLES: &[&str] = &[
    "CEO", "CFO", "CTO", "VP Sales", "VP Marketing", "VP Operations", "Director of IT",
    "IT Manager", "Procurement Manager", "Operations Manager", "Sales Manager",
    "Account Executive", "Marketing Coordinator", "Office Manager", "Controller",
    "Head of Customer Success", "Product Manager", "Software Engineer", "Buyer",
    "Facilities Manager", "HR Director", "Chief of Staff", "Data Analyst", "Legal Counsel",
];

/// Departments.
#[rustfmt::skip]
pub const DEPARTMENTS: &[&str] = &[
    "Sales", "Marketing", "Finance", "IT", "Operations", "Procurement", "Human Resources",
    "Legal", "Engineering", "Customer Success", "Executive", "Facilities",
];

/// What customers buy.
#[rustfmt::skip]
pub const PRODUCTS: &[&str] = &[
    "the analytics platform", "fleet telematics", "the cloud backup service",
    "managed networking", "the CRM integration", "warehouse automation", "payroll services",
    "the compliance module", "field service software", "the data warehouse migration",
    "solar panel installation", "cybersecurity training", "the customer portal",
    "predictive maintenance", "video conferencing hardware", "the ERP upgrade",
];
/// What customers do about it.
#[rustfmt::skip]
pub const VERBS: &[&str] = &[
    "is evaluating", "asked for a quote on", "wants to expand", "is renewing",
    "raised concerns about", "requested a demo of", "is piloting", "plans to replace",
    "signed a letter of intent for", "needs budget approval for",
];
/// Follow-up sentences for notes and descriptions.
#[rustfmt::skip]
pub const FOLLOW_UPS: &[&str] = &[
    "Decision expected next quarter.", "Procurement wants three competing bids.",
    "The champion moved to a new role; find a new sponsor.",
    "Legal review of the master agreement is pending.",
    "They mentioned a tight deadline before the fiscal year end.",
    "Security questionnaire returned with two open items.",
    "Pricing was considered high compared with the incumbent.",
    "Reference call with an existing customer went well.",
    "Integration with their ERP is the main technical risk.",
    "Board approval is required above the current budget.",
    "Follow up after the trade show in the spring.",
    "Their IT team prefers a phased rollout by region.",
];

/// Case subjects.
#[rustfmt::skip]
pub const CASE_SUBJECTS: &[&str] = &[
    "Unable to log in to the customer portal", "Invoice amount does not match the quote",
    "Shipment arrived damaged", "Request to change billing address",
    "Integration sync fails every night", "Password reset email not received",
    "Performance degradation since last update", "Feature request: export to CSV",
    "Device overheating after firmware upgrade", "Duplicate charges on credit card",
    "Cannot add new users to the account", "Report shows incorrect totals",
    "Order stuck in pending status", "Question about contract renewal terms",
    "API returns timeout errors", "Mobile app crashes on startup",
];

/// Task and event subjects.
#[rustfmt::skip]
pub const ACTIVITY_SUBJECTS: &[&str] = &[
    "Call", "Send Quote", "Send Letter", "Follow-up call", "Discovery meeting", "Product demo",
    "Contract review", "Quarterly business review", "Pricing discussion", "Onboarding session",
    "Email: proposal sent", "Check in after support case", "Renewal reminder",
    "Executive briefing", "Site visit", "Technical deep dive",
];

/// File name stems.
#[rustfmt::skip]
pub const FILE_STEMS: &[&str] = &[
    "proposal", "contract", "invoice", "quote", "meeting-notes", "site-photo", "price-list",
    "statement-of-work", "nda", "architecture", "roadmap", "training-guide", "purchase-order",
    "renewal-terms", "requirements", "logo",
];

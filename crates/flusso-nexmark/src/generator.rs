//! Nexmark's event generator, after Apache Beam's and the nexmark/nexmark suite's
//! `GeneratorConfig`, `PersonGenerator`, `AuctionGenerator` and `BidGenerator`.
//!
//! Event number `n` (0, 1, 2, …) is a person, an auction or a bid by `n % 50`: 0 a person, 1–3
//! an auction, 4–49 a bid (the 1:3:46 mix). Its event time is `base_time + n * 1000 / rate` ms,
//! so event time advances monotonically at `rate` events per second. Ids, sellers, bidders and
//! auctions follow the reference distributions:
//!
//! - person and auction ids are dense, starting at 1000, and follow from `n` alone;
//! - an auction's seller is a *hot seller* (the first person of the latest block of 100) with
//!   probability 3/4, else any of the 1,000 most recent persons or up to 10 ahead;
//! - a bid's auction is a *hot auction* (the first of the latest block of 100 auctions) with
//!   probability 1/2, else any of the 100 most recent auctions or up to 10 ahead; its bidder a
//!   *hot bidder* (the second person of the latest block of 100) with probability 3/4;
//! - prices are `round(10^(6u) * 100)` for uniform `u` (1 to 100,000,000, log-uniform);
//! - half the bids come from four hot channels, the others from 10,000 channels whose URLs
//!   carry `&channel_id=…` nine times in ten;
//! - an auction lasts `1 + uniform(2 × h)` ms where `h` is the event time 100 auctions ahead;
//! - `extra` pads each event to an average size (person 200, auction 500, bid 100 bytes).
//!
//! Each event draws from its own random stream, seeded by the generator's seed and the event
//! number (Beam seeds a `Random` per event id likewise), so a seed fixes every event and events
//! can be made in any order. The reference suite's generator is unseeded and adds
//! `FIRST_PERSON_ID` to bidders twice; here bidders are person ids, as in Beam.

/// Nexmark's first person id.
pub const FIRST_PERSON_ID: i64 = 1000;
/// Nexmark's first auction id.
pub const FIRST_AUCTION_ID: i64 = 1000;
/// Nexmark's first category id (categories are 10–14).
pub const FIRST_CATEGORY_ID: i64 = 10;
/// Event time of event 0 (2023-11-14T22:13:20Z), in ms since the epoch.
pub const DEFAULT_BASE_TIME: i64 = 1_700_000_000_000;

const NUM_CATEGORIES: u64 = 5;
const PERSON_ID_LEAD: u64 = 10;
const AUCTION_ID_LEAD: u64 = 10;
const HOT_SELLER_RATIO: i64 = 100;
const HOT_AUCTION_RATIO: i64 = 100;
const HOT_BIDDER_RATIO: i64 = 100;
const HOT_CHANNELS_RATIO: u64 = 2;
const CHANNELS_NUMBER: usize = 10_000;
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
/// Length of the shared random text `extra` fields are cut from.
const EXTRA_TEXT_LEN: usize = 1 << 20;

/// The generator's settings (the reference `NexmarkConfiguration` defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Events per second of event time.
    pub rate: u64,
    /// Event time of event 0, ms since the epoch.
    pub base_time: i64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Persons in every `person + auction + bid` events.
    pub person_proportion: u64,
    /// Auctions in every `person + auction + bid` events.
    pub auction_proportion: u64,
    /// Bids in every `person + auction + bid` events.
    pub bid_proportion: u64,
    /// Average size of a person (bytes), reached by padding `extra`.
    pub avg_person_bytes: usize,
    /// Average size of an auction (bytes).
    pub avg_auction_bytes: usize,
    /// Average size of a bid (bytes).
    pub avg_bid_bytes: usize,
    /// One bid in this many is not for a hot auction.
    pub hot_auction_ratio: u64,
    /// One auction in this many is not by a hot seller.
    pub hot_sellers_ratio: u64,
    /// One bid in this many is not by a hot bidder.
    pub hot_bidders_ratio: u64,
    /// Sellers and bidders are drawn from this many most recent persons.
    pub num_active_people: u64,
    /// Bids are for one of this many most recent auctions.
    pub num_in_flight_auctions: u64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            rate: 10_000,
            base_time: DEFAULT_BASE_TIME,
            seed: 0,
            person_proportion: 1,
            auction_proportion: 3,
            bid_proportion: 46,
            avg_person_bytes: 200,
            avg_auction_bytes: 500,
            avg_bid_bytes: 100,
            hot_auction_ratio: 2,
            hot_sellers_ratio: 4,
            hot_bidders_ratio: 4,
            num_active_people: 1000,
            num_in_flight_auctions: 100,
        }
    }
}

impl GeneratorConfig {
    fn total_proportion(&self) -> u64 {
        self.person_proportion + self.auction_proportion + self.bid_proportion
    }

    /// Event time of event `n`, ms since the epoch.
    pub fn timestamp_for_event(&self, n: u64) -> i64 {
        self.base_time + ((n as u128 * 1000) / self.rate.max(1) as u128) as i64
    }

    /// The latest person id (base 0) at event `n`: the new one if `n` is a person.
    fn last_base0_person_id(&self, n: u64) -> i64 {
        let total = self.total_proportion();
        let epoch = n / total;
        let mut offset = n % total;
        if offset >= self.person_proportion {
            offset = self.person_proportion - 1;
        }
        (epoch * self.person_proportion + offset) as i64
    }

    /// The latest auction id (base 0) at event `n`: the new one if `n` is an auction.
    fn last_base0_auction_id(&self, n: u64) -> i64 {
        let total = self.total_proportion();
        let mut epoch = (n / total) as i64;
        let mut offset = (n % total) as i64;
        let (p, a) = (
            self.person_proportion as i64,
            self.auction_proportion as i64,
        );
        if offset < p {
            epoch -= 1;
            offset = a - 1;
        } else if offset >= p + a {
            offset = a - 1;
        } else {
            offset -= p;
        }
        epoch * a + offset
    }

    /// A random person among the active ones, or a few ahead (base 0).
    fn next_base0_person_id(&self, n: u64, rng: &mut Rng) -> i64 {
        let num_people = self.last_base0_person_id(n) + 1;
        let active = num_people.min(self.num_active_people as i64);
        let pick = rng.below(active as u64 + PERSON_ID_LEAD) as i64;
        num_people - active + pick
    }

    /// A random auction among those likely still in flight, or a few ahead (base 0).
    fn next_base0_auction_id(&self, n: u64, rng: &mut Rng) -> i64 {
        let max = self.last_base0_auction_id(n);
        let min = (max - self.num_in_flight_auctions as i64).max(0);
        min + rng.below((max - min + 1) as u64 + AUCTION_ID_LEAD) as i64
    }

    /// How long an auction created at event `n` (time `ts`) lasts: on average the time until
    /// `num_in_flight_auctions` more auctions have been created.
    fn next_auction_length_ms(&self, n: u64, ts: i64, rng: &mut Rng) -> i64 {
        let events_for_auctions =
            self.num_in_flight_auctions * self.total_proportion() / self.auction_proportion;
        let future = self.timestamp_for_event(n + events_for_auctions);
        let horizon = future - ts;
        1 + rng.below((horizon * 2).max(1) as u64) as i64
    }
}

/// SplitMix64: a small, fast generator with good statistical quality.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Which of the three streams an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A new person.
    Person,
    /// A new auction.
    Auction,
    /// A bid.
    Bid,
}

impl Kind {
    /// The topic (and JSONL file stem) of the kind.
    pub fn topic(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Auction => "auction",
            Kind::Bid => "bid",
        }
    }

    /// All kinds, in topic order.
    pub const ALL: [Kind; 3] = [Kind::Person, Kind::Auction, Kind::Bid];
}

/// A new person.
#[derive(Debug, Clone, PartialEq)]
pub struct Person<'a> {
    pub id: i64,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email_address: String,
    /// Four groups of four digits.
    pub credit_card: [u16; 4],
    pub city: &'static str,
    pub state: &'static str,
    pub date_time: i64,
    pub extra: &'a str,
}

impl Person<'_> {
    /// `first last`.
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// `dddd dddd dddd dddd`.
    pub fn credit_card(&self) -> String {
        let c = self.credit_card;
        format!("{:04} {:04} {:04} {:04}", c[0], c[1], c[2], c[3])
    }
}

/// A new auction.
#[derive(Debug, Clone, PartialEq)]
pub struct Auction<'a> {
    pub id: i64,
    pub item_name: String,
    pub description: String,
    pub initial_bid: i64,
    pub reserve: i64,
    pub date_time: i64,
    pub expires: i64,
    pub seller: i64,
    pub category: i64,
    pub extra: &'a str,
}

/// A bid.
#[derive(Debug, Clone, PartialEq)]
pub struct Bid<'a> {
    pub auction: i64,
    pub bidder: i64,
    pub price: i64,
    pub channel: &'a str,
    pub url: &'a str,
    pub date_time: i64,
    pub extra: &'a str,
}

/// One generated event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    Person(Person<'a>),
    Auction(Auction<'a>),
    Bid(Bid<'a>),
}

impl Event<'_> {
    /// The event's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Event::Person(_) => Kind::Person,
            Event::Auction(_) => Kind::Auction,
            Event::Bid(_) => Kind::Bid,
        }
    }

    /// Event time, ms since the epoch.
    pub fn date_time(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }

    /// The record key: a person's or an auction's id (8 bytes, big-endian: the KAFKA format's
    /// BIGINT); bids have none.
    pub fn key(&self) -> Option<[u8; 8]> {
        match self {
            Event::Person(p) => Some(p.id.to_be_bytes()),
            Event::Auction(a) => Some(a.id.to_be_bytes()),
            Event::Bid(_) => None,
        }
    }

    /// Appends the event as one JSON object (snake_case fields, times in epoch ms), no newline.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Event::Person(p) => {
                out.extend_from_slice(b"{\"id\":");
                push_int(out, p.id);
                out.extend_from_slice(b",\"name\":\"");
                push_escaped(out, p.first_name);
                out.push(b' ');
                push_escaped(out, p.last_name);
                out.extend_from_slice(b"\",\"email_address\":");
                push_str(out, &p.email_address);
                out.extend_from_slice(b",\"credit_card\":\"");
                for (i, group) in p.credit_card.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    let g = *group as usize;
                    out.extend_from_slice(&[
                        b'0' + (g / 1000) as u8,
                        b'0' + (g / 100 % 10) as u8,
                        b'0' + (g / 10 % 10) as u8,
                        b'0' + (g % 10) as u8,
                    ]);
                }
                out.extend_from_slice(b"\",\"city\":");
                push_str(out, p.city);
                out.extend_from_slice(b",\"state\":");
                push_str(out, p.state);
                out.extend_from_slice(b",\"date_time\":");
                push_int(out, p.date_time);
                out.extend_from_slice(b",\"extra\":");
                push_str(out, p.extra);
                out.push(b'}');
            }
            Event::Auction(a) => {
                out.extend_from_slice(b"{\"id\":");
                push_int(out, a.id);
                out.extend_from_slice(b",\"item_name\":");
                push_str(out, &a.item_name);
                out.extend_from_slice(b",\"description\":");
                push_str(out, &a.description);
                out.extend_from_slice(b",\"initial_bid\":");
                push_int(out, a.initial_bid);
                out.extend_from_slice(b",\"reserve\":");
                push_int(out, a.reserve);
                out.extend_from_slice(b",\"date_time\":");
                push_int(out, a.date_time);
                out.extend_from_slice(b",\"expires\":");
                push_int(out, a.expires);
                out.extend_from_slice(b",\"seller\":");
                push_int(out, a.seller);
                out.extend_from_slice(b",\"category\":");
                push_int(out, a.category);
                out.extend_from_slice(b",\"extra\":");
                push_str(out, a.extra);
                out.push(b'}');
            }
            Event::Bid(b) => {
                out.extend_from_slice(b"{\"auction\":");
                push_int(out, b.auction);
                out.extend_from_slice(b",\"bidder\":");
                push_int(out, b.bidder);
                out.extend_from_slice(b",\"price\":");
                push_int(out, b.price);
                out.extend_from_slice(b",\"channel\":");
                push_str(out, b.channel);
                out.extend_from_slice(b",\"url\":");
                push_str(out, b.url);
                out.extend_from_slice(b",\"date_time\":");
                push_int(out, b.date_time);
                out.extend_from_slice(b",\"extra\":");
                push_str(out, b.extra);
                out.push(b'}');
            }
        }
    }

    /// The event as a JSON string.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        String::from_utf8(out).expect("generated JSON is UTF-8")
    }
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `s` as a quoted JSON string.
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

/// Appends `s` escaped for a JSON string (generated text never needs it, but stays valid).
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

/// Nexmark's generator: `event(n)` is the `n`-th event, the same for a given configuration.
#[derive(Debug, Clone)]
pub struct Generator {
    config: GeneratorConfig,
    /// Random lower-case text that `extra` fields are cut from.
    extra_text: String,
    /// The URLs of the four hot channels.
    hot_urls: [String; 4],
    /// The other channels' names and URLs.
    channels: Vec<(String, String)>,
}

impl Generator {
    /// A generator for `config`.
    pub fn new(config: GeneratorConfig) -> Generator {
        let mut rng = Rng::new(config.seed ^ 0x6E65_786D_6172_6B00);
        let extra_text: String = (0..EXTRA_TEXT_LEN)
            .map(|_| (b'a' + rng.below(26) as u8) as char)
            .collect();
        let hot_urls = std::array::from_fn(|_| base_url(&mut rng));
        let channels = (0..CHANNELS_NUMBER)
            .map(|i| {
                let mut url = base_url(&mut rng);
                if rng.below(10) > 0 {
                    // The reference: Math.abs(Integer.reverse(i)).
                    let id = (i as i32).reverse_bits().wrapping_abs();
                    url.push_str(&format!("&channel_id={id}"));
                }
                (format!("channel-{i}"), url)
            })
            .collect();
        Generator {
            config,
            extra_text,
            hot_urls,
            channels,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The kind of event `n`, without making it.
    pub fn kind(&self, n: u64) -> Kind {
        let c = &self.config;
        let rem = n % c.total_proportion();
        if rem < c.person_proportion {
            Kind::Person
        } else if rem < c.person_proportion + c.auction_proportion {
            Kind::Auction
        } else {
            Kind::Bid
        }
    }

    /// Event `n`.
    pub fn event(&self, n: u64) -> Event<'_> {
        let c = &self.config;
        let mut rng = Rng::new(
            c.seed
                .wrapping_mul(0xA076_1D64_78BD_642F)
                .wrapping_add(n.wrapping_mul(0xE703_7ED1_A0B4_28DB)),
        );
        let ts = c.timestamp_for_event(n);
        match self.kind(n) {
            Kind::Person => Event::Person(self.person(n, ts, &mut rng)),
            Kind::Auction => Event::Auction(self.auction(n, ts, &mut rng)),
            Kind::Bid => Event::Bid(self.bid(n, ts, &mut rng)),
        }
    }

    fn person(&self, n: u64, ts: i64, rng: &mut Rng) -> Person<'_> {
        let c = &self.config;
        let id = c.last_base0_person_id(n) + FIRST_PERSON_ID;
        let first_name = FIRST_NAMES[rng.below(FIRST_NAMES.len() as u64) as usize];
        let last_name = LAST_NAMES[rng.below(LAST_NAMES.len() as u64) as usize];
        let mut email_address = next_string(rng, 7, ' ');
        email_address.push('@');
        email_address.push_str(&next_string(rng, 5, ' '));
        email_address.push_str(".com");
        let credit_card = std::array::from_fn(|_| rng.below(10_000) as u16);
        let city = US_CITIES[rng.below(US_CITIES.len() as u64) as usize];
        let state = US_STATES[rng.below(US_STATES.len() as u64) as usize];
        let size = 8
            + first_name.len()
            + 1
            + last_name.len()
            + email_address.len()
            + 19
            + city.len()
            + state.len();
        let extra = self.next_extra(rng, size, c.avg_person_bytes);
        Person {
            id,
            first_name,
            last_name,
            email_address,
            credit_card,
            city,
            state,
            date_time: ts,
            extra,
        }
    }

    fn auction(&self, n: u64, ts: i64, rng: &mut Rng) -> Auction<'_> {
        let c = &self.config;
        let id = c.last_base0_auction_id(n) + FIRST_AUCTION_ID;
        let seller = if rng.below(c.hot_sellers_ratio) > 0 {
            (c.last_base0_person_id(n) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO
        } else {
            c.next_base0_person_id(n, rng)
        } + FIRST_PERSON_ID;
        let category = FIRST_CATEGORY_ID + rng.below(NUM_CATEGORIES) as i64;
        let initial_bid = next_price(rng);
        let expires = ts + c.next_auction_length_ms(n, ts, rng);
        let item_name = next_string(rng, 20, ' ');
        let description = next_string(rng, 100, ' ');
        let reserve = initial_bid + next_price(rng);
        let size = 8 + item_name.len() + description.len() + 8 * 5;
        let extra = self.next_extra(rng, size, c.avg_auction_bytes);
        Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time: ts,
            expires,
            seller,
            category,
            extra,
        }
    }

    fn bid(&self, n: u64, ts: i64, rng: &mut Rng) -> Bid<'_> {
        let c = &self.config;
        let auction = if rng.below(c.hot_auction_ratio) > 0 {
            (c.last_base0_auction_id(n) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
        } else {
            c.next_base0_auction_id(n, rng)
        } + FIRST_AUCTION_ID;
        let bidder = if rng.below(c.hot_bidders_ratio) > 0 {
            // The second person of the block, so that hot bidders are not hot sellers.
            (c.last_base0_person_id(n) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1
        } else {
            c.next_base0_person_id(n, rng)
        } + FIRST_PERSON_ID;
        let price = next_price(rng);
        let (channel, url) = if rng.below(HOT_CHANNELS_RATIO) > 0 {
            let i = rng.below(HOT_CHANNELS.len() as u64) as usize;
            (HOT_CHANNELS[i], self.hot_urls[i].as_str())
        } else {
            let (name, url) = &self.channels[rng.below(CHANNELS_NUMBER as u64) as usize];
            (name.as_str(), url.as_str())
        };
        let extra = self.next_extra(rng, 32, c.avg_bid_bytes);
        Bid {
            auction,
            bidder,
            price,
            channel,
            url,
            date_time: ts,
            extra,
        }
    }

    /// Text such that `current + text.len()` is `average` on average (±20%).
    fn next_extra(&self, rng: &mut Rng, current: usize, average: usize) -> &str {
        if current > average {
            return "";
        }
        let wanted = average - current;
        let delta = (wanted as f64 * 0.2).round() as usize;
        let len = wanted - delta
            + if delta == 0 {
                0
            } else {
                rng.below(2 * delta as u64) as usize
            };
        let start = rng.below((self.extra_text.len() - len) as u64) as usize;
        &self.extra_text[start..start + len]
    }
}

/// A random price: `round(10^(6u) * 100)`.
fn next_price(rng: &mut Rng) -> i64 {
    (10f64.powf(rng.next_f64() * 6.0) * 100.0).round() as i64
}

/// Random lower-case letters (one in 13 `special`), 3 to `max_len - 1` long, trimmed.
fn next_string(rng: &mut Rng, max_len: u64, special: char) -> String {
    let len = 3 + rng.below(max_len - 3);
    let mut s = String::with_capacity(len as usize);
    for _ in 0..len {
        if rng.below(13) == 0 {
            s.push(special);
        } else {
            s.push((b'a' + rng.below(26) as u8) as char);
        }
    }
    let trimmed = s.trim();
    if trimmed.len() == s.len() {
        s
    } else {
        trimmed.to_string()
    }
}

fn base_url(rng: &mut Rng) -> String {
    format!(
        "https://www.nexmark.com/{}/{}/{}/item.htm?query=1",
        next_string(rng, 5, '_'),
        next_string(rng, 5, '_'),
        next_string(rng, 5, '_')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_ids_and_times_follow_the_reference() {
        let g = Generator::new(GeneratorConfig::default());
        let mut kinds = [0usize; 3];
        for n in 0..50_000 {
            let e = g.event(n);
            kinds[e.kind() as usize] += 1;
            assert_eq!(e.date_time(), DEFAULT_BASE_TIME + (n / 10) as i64);
        }
        assert_eq!(kinds, [1_000, 3_000, 46_000]);
        // Dense ids from 1000: event 0 is person 1000, events 1-3 auctions 1000-1002, event 50
        // person 1001, event 51 auction 1003.
        let Event::Person(p) = g.event(0) else {
            panic!()
        };
        assert_eq!(p.id, 1000);
        let Event::Auction(a) = g.event(51) else {
            panic!()
        };
        assert_eq!(a.id, 1003);
        let Event::Person(p) = g.event(50) else {
            panic!()
        };
        assert_eq!(p.id, 1001);
    }

    #[test]
    fn deterministic_for_a_seed_and_different_across_seeds() {
        let a = Generator::new(GeneratorConfig::default());
        let b = Generator::new(GeneratorConfig::default());
        let c = Generator::new(GeneratorConfig {
            seed: 7,
            ..GeneratorConfig::default()
        });
        let json = |g: &Generator| (0..500).map(|n| g.event(n).to_json()).collect::<Vec<_>>();
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c));
    }

    #[test]
    fn distributions() {
        let g = Generator::new(GeneratorConfig::default());
        let (mut bids, mut hot_auction, mut hot_bidder, mut hot_channel) = (0, 0, 0, 0);
        let (mut auctions, mut hot_seller) = (0, 0);
        let mut bytes = [0usize; 3];
        let mut counts = [0usize; 3];
        for n in 0..200_000u64 {
            let e = g.event(n);
            bytes[e.kind() as usize] += e.to_json().len();
            counts[e.kind() as usize] += 1;
            match e {
                Event::Bid(b) => {
                    bids += 1;
                    let last_auction = g.config.last_base0_auction_id(n);
                    if b.auction == last_auction / 100 * 100 + FIRST_AUCTION_ID {
                        hot_auction += 1;
                    }
                    let last_person = g.config.last_base0_person_id(n);
                    if b.bidder == last_person / 100 * 100 + 1 + FIRST_PERSON_ID {
                        hot_bidder += 1;
                    }
                    if HOT_CHANNELS.contains(&b.channel) {
                        hot_channel += 1;
                    }
                    assert!((100..=100_000_000).contains(&b.price), "{}", b.price);
                    assert!(b.bidder >= FIRST_PERSON_ID);
                    assert!(b.bidder <= last_person + FIRST_PERSON_ID + PERSON_ID_LEAD as i64);
                }
                Event::Auction(a) => {
                    auctions += 1;
                    let last_person = g.config.last_base0_person_id(n);
                    if a.seller == last_person / 100 * 100 + FIRST_PERSON_ID {
                        hot_seller += 1;
                    }
                    assert!(a.expires > a.date_time);
                    assert!(a.reserve >= a.initial_bid);
                    assert!((10..15).contains(&a.category));
                }
                Event::Person(p) => {
                    assert!(US_STATES.contains(&p.state));
                }
            }
        }
        let share = |x: usize, of: usize| x as f64 / of as f64;
        // Hot with probability 1 - 1/ratio (a cold pick may land on the hot one too).
        assert!((0.49..0.53).contains(&share(hot_auction, bids)));
        assert!((0.74..0.77).contains(&share(hot_bidder, bids)));
        assert!((0.74..0.77).contains(&share(hot_seller, auctions)));
        assert!((0.49..0.51).contains(&share(hot_channel, bids)));
        // JSON sizes: the average payload plus field names.
        let avg = |k: usize| bytes[k] / counts[k];
        let avgs = [avg(0), avg(1), avg(2)];
        assert!((250..320).contains(&avgs[0]), "{avgs:?}");
        assert!((560..660).contains(&avgs[1]), "{avgs:?}");
        assert!((220..270).contains(&avgs[2]), "{avgs:?}");
    }

    #[test]
    fn json_is_valid() {
        let g = Generator::new(GeneratorConfig::default());
        for n in 0..100 {
            let v: serde_json::Value = serde_json::from_str(&g.event(n).to_json()).unwrap();
            assert!(v.get("date_time").is_some());
        }
    }
}

"""Build the labelled chat corpus the signal model is trained and tested on.

Run from the repository root: ``python bench/make_corpus.py``. It writes
``handlers/signals/data/corpus.jsonl``, one message a line: ``text``, ``kinds`` (a list,
empty for "not a signal"), ``form`` (how it is written), ``group`` (which family of signal
or look-alike: signal, two_kinds, hard, negation, retraction, hypothetical, it_own, others,
chatter), ``domain`` (the kind of organisation), ``template`` (which frame made it) and
``split`` (train / valid / test).

The messages come from frames with slots (units, products, devices, places, dates) for
many kinds of organisation, and from hand-written messages. Frames for signals and for
their look-alikes share the same slots, so the words alone never give the label away: half
the non-signals or more borrow a signal's words in an everyday sense ("buying lunch",
"move the meeting"), retract or imagine a plan, are IT's own announcements or news about
somebody else's organisation. Every message is then written in one of several forms
(questions, past tense, typos, Slack markup, long messages with the signal buried, very
short ones, non-native English).

The split is by frame, with a fixed seed: a frame's messages all land in one split, so the
frozen test split measures frames the model never saw, not new fillings of known ones.
The output is deterministic: the same script gives the same file, byte for byte.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.signals.train import misspell  # noqa: E402

OUT = ROOT / "handlers" / "signals" / "data" / "corpus.jsonl"
SEED = 20261206
COMPOSED = 3000  # messages composed from parts (subject, verb, object, time)
PER_FRAME = 24  # fillings per frame (fewer for frames without slots; duplicates dropped)

SW, HW, MOVE, STAFF, EVENT, DATA = (
    "software_purchase",
    "hardware_purchase",
    "office_move",
    "staffing_change",
    "event_or_launch",
    "data_project",
)

# --- organisations -------------------------------------------------------------------------

DOMAINS: dict[str, dict[str, list[str]]] = {
    "school": {
        "unit": [
            "the math department",
            "the front office",
            "Special Ed",
            "the PTA",
            "admissions",
            "the library team",
            "our middle school",
            "the athletics dept",
        ],
        "people": [
            "teachers",
            "teaching assistants",
            "bus drivers",
            "substitute teachers",
            "counselors",
            "lunch staff",
        ],
        "place": [
            "the new annex",
            "the Elm Street campus",
            "the portable classrooms",
            "the old middle school building",
        ],
        "thing": ["the spring concert", "parent-teacher night", "the science fair", "graduation"],
    },
    "hospital": {
        "unit": [
            "the ICU",
            "radiology",
            "the night shift",
            "outpatient scheduling",
            "the maternity ward",
            "pharmacy",
            "patient transport",
            "the ER",
        ],
        "people": [
            "nurses",
            "travel nurses",
            "medical assistants",
            "pharmacy techs",
            "residents",
            "porters",
        ],
        "place": [
            "the new outpatient wing",
            "the clinic on 5th Ave",
            "the east tower",
            "the old rehab building",
        ],
        "thing": ["the grand rounds", "the wellness fair", "flu shot week", "the open house"],
    },
    "law_firm": {
        "unit": [
            "litigation",
            "the conveyancing team",
            "the partners",
            "the paralegals",
            "the Leeds office",
            "employment law",
            "the billing team",
        ],
        "people": [
            "associates",
            "paralegals",
            "trainee solicitors",
            "legal secretaries",
            "summer associates",
        ],
        "place": [
            "the new floor at Canary Wharf",
            "the serviced office downtown",
            "the second floor",
            "the Manchester office",
        ],
        "thing": [
            "the client seminar",
            "the partners' retreat",
            "the CLE session",
            "the firm anniversary",
        ],
    },
    "nonprofit": {
        "unit": [
            "the fundraising team",
            "volunteer services",
            "the food bank crew",
            "programs",
            "the board",
            "the youth outreach team",
            "development",
        ],
        "people": [
            "volunteers",
            "case workers",
            "program coordinators",
            "grant writers",
            "AmeriCorps members",
        ],
        "place": [
            "the church basement",
            "the new community center",
            "the warehouse on Pine",
            "a shared office space",
        ],
        "thing": ["the annual gala", "the 5k fun run", "the donor breakfast", "giving Tuesday"],
    },
    "retail": {
        "unit": [
            "store 14",
            "the merch team",
            "ecommerce",
            "the Northgate store",
            "loss prevention",
            "the buying team",
            "customer service",
        ],
        "people": [
            "seasonal associates",
            "cashiers",
            "stock associates",
            "visual merchandisers",
            "store managers",
        ],
        "place": [
            "the new mall location",
            "the outlet store",
            "the distribution center",
            "a pop-up shop downtown",
        ],
        "thing": [
            "the Black Friday sale",
            "the grand opening",
            "the loyalty program",
            "the summer clearance",
        ],
    },
    "manufacturing": {
        "unit": [
            "the paint shop",
            "QA",
            "second shift",
            "maintenance",
            "the plant in Ohio",
            "supply chain",
            "the tooling group",
            "line 3",
        ],
        "people": [
            "machine operators",
            "welders",
            "quality inspectors",
            "forklift drivers",
            "temps",
        ],
        "place": ["the new plant", "building C", "the warehouse in Reno", "the old mill site"],
        "thing": ["the safety week", "the plant tour", "the customer audit", "the family day"],
    },
    "city": {
        "unit": [
            "Parks and Rec",
            "the permits office",
            "the clerk's office",
            "public works",
            "code enforcement",
            "the water utility",
            "the planning department",
        ],
        "people": [
            "building inspectors",
            "lifeguards",
            "seasonal crew",
            "parking officers",
            "911 dispatchers",
        ],
        "place": [
            "the new municipal building",
            "the annex on Main",
            "city hall's basement",
            "the old fire station",
        ],
        "thing": [
            "the budget hearing",
            "the farmers market",
            "the town hall meeting",
            "the summer concert series",
        ],
    },
    "university": {
        "unit": [
            "the registrar",
            "the chemistry lab",
            "student affairs",
            "admissions",
            "the alumni office",
            "the business school",
            "research admin",
        ],
        "people": ["TAs", "postdocs", "adjunct faculty", "research assistants", "student workers"],
        "place": [
            "the new science building",
            "the satellite campus",
            "Hall B",
            "the leased space off campus",
        ],
        "thing": ["orientation week", "the alumni reunion", "commencement", "the research day"],
    },
    "restaurant": {
        "unit": [
            "the kitchen",
            "the downtown location",
            "catering",
            "front of house",
            "the bakery",
            "the bar team",
        ],
        "people": ["line cooks", "servers", "dishwashers", "bartenders", "delivery drivers"],
        "place": [
            "the second location",
            "the food hall stall",
            "the old diner on 3rd",
            "the commissary kitchen",
        ],
        "thing": [
            "the tasting menu launch",
            "brunch service",
            "the wine dinner",
            "restaurant week",
        ],
    },
    "construction": {
        "unit": [
            "estimating",
            "the site team",
            "project controls",
            "the safety team",
            "the Denver branch",
            "procurement",
        ],
        "people": ["site supervisors", "apprentices", "project engineers", "laborers", "surveyors"],
        "place": ["the new yard", "the site trailer", "the office in Boulder", "the shared depot"],
        "thing": [
            "the topping-out ceremony",
            "the safety stand-down",
            "the client walkthrough",
            "the bid day",
        ],
    },
    "logistics": {
        "unit": [
            "dispatch",
            "the warehouse crew",
            "fleet",
            "customs",
            "the night shift",
            "the cross-dock team",
        ],
        "people": ["drivers", "pickers", "dispatchers", "warehouse associates", "customs brokers"],
        "place": [
            "the new depot",
            "the hub in Memphis",
            "the overflow warehouse",
            "the old terminal",
        ],
        "thing": [
            "peak season",
            "the driver appreciation day",
            "the customer summit",
            "the quarterly kickoff",
        ],
    },
    "agency": {
        "unit": [
            "the creative team",
            "accounts",
            "the studio",
            "social",
            "the London team",
            "new business",
            "strategy",
        ],
        "people": ["designers", "copywriters", "account managers", "interns", "freelancers"],
        "place": ["the new studio", "a WeWork in Brooklyn", "the loft space", "the old print shop"],
        "thing": [
            "the agency showcase",
            "the awards night",
            "the client pitch",
            "the summer party",
        ],
    },
    "clinic": {
        "unit": [
            "the front desk",
            "billing",
            "the hygienists",
            "the Eastside practice",
            "the physio team",
            "reception",
        ],
        "people": [
            "hygienists",
            "receptionists",
            "physiotherapists",
            "dental assistants",
            "locum doctors",
        ],
        "place": [
            "the new practice on High St",
            "the medical plaza",
            "the suite upstairs",
            "the old surgery",
        ],
        "thing": ["the open day", "the health fair", "the patient evening", "the staff awards"],
    },
    "finance": {
        "unit": [
            "accounts payable",
            "the audit team",
            "wealth management",
            "compliance",
            "the branch in Dayton",
            "treasury",
            "payroll",
        ],
        "people": ["analysts", "tellers", "auditors", "loan officers", "graduates"],
        "place": [
            "the new branch",
            "the tower on Market St",
            "the back office in Leeds",
            "the old bank building",
        ],
        "thing": ["the investor day", "the year-end close", "the client roadshow", "the town hall"],
    },
    "church": {
        "unit": [
            "the youth ministry",
            "the worship team",
            "the parish office",
            "outreach",
            "the choir",
            "the finance committee",
        ],
        "people": [
            "youth leaders",
            "volunteers",
            "a new pastor and two interns",
            "sound techs",
            "childcare workers",
        ],
        "place": [
            "the new fellowship hall",
            "the school gym we rent",
            "the chapel annex",
            "the old rectory",
        ],
        "thing": [
            "the Christmas service",
            "vacation bible school",
            "the harvest festival",
            "the capital campaign",
        ],
    },
    "hotel": {
        "unit": [
            "housekeeping",
            "the front desk",
            "events",
            "food and beverage",
            "the spa",
            "revenue management",
        ],
        "people": ["housekeepers", "night auditors", "concierges", "banquet servers", "valets"],
        "place": [
            "the new wing",
            "the sister property",
            "the conference center",
            "the old staff building",
        ],
        "thing": [
            "the wedding season",
            "the trade fair weekend",
            "the rooftop opening",
            "the new year's eve party",
        ],
    },
}

DOMAIN_NAMES = sorted(DOMAINS)

# Generic slots, used by every domain.
SOFTWARE = [
    "Salesforce",
    "HubSpot",
    "Workday",
    "DocuSign",
    "Asana",
    "Monday.com",
    "Smartsheet",
    "Tableau",
    "QuickBooks Online",
    "Xero",
    "Zendesk",
    "Jira",
    "Notion",
    "Airtable",
    "Mailchimp",
    "Canva Pro",
    "Calendly",
    "Greenhouse",
    "BambooHR",
    "Gusto",
    "Procore",
    "Toast",
    "Shopify",
    "Blackbaud",
    "Clio",
    "Veeva",
    "SurveyMonkey",
    "Miro",
    "Dropbox",
    "Box",
    "Zoom Webinars",
    "Otter.ai",
    "ChatGPT Team",
    "Copilot licences",
    "Power BI Pro",
    "Lucidchart",
    "Adobe Acrobat Pro",
    "Trello",
    "Freshdesk",
    "ServiceTitan",
]
SOFTWARE_GENERIC = [
    "a new CRM",
    "an applicant tracking system",
    "a scheduling app",
    "an e-signature tool",
    "an AI transcription service",
    "a donor management platform",
    "a new booking system",
    "a learning management system",
    "a project management tool",
    "a new POS system",
    "an inventory app",
    "a survey tool",
    "a contract management tool",
    "a new payroll system",
    "an expense app",
    "a chat tool for the shop floor",
    "a visitor sign-in app",
    "a rostering app",
    "a case management system",
    "a new ticketing platform",
    "a password manager for the team",
    "an online forms tool",
    "a cloud accounting package",
]
OLD_SOFTWARE = [
    "Excel",
    "the old Access database",
    "Sage 50",
    "paper forms",
    "Google Sheets",
    "the legacy ERP",
    "our homegrown tool",
    "Outlook calendars",
    "Constant Contact",
]
HARDWARE = [
    "laptops",
    "iPads",
    "Chromebooks",
    "label printers",
    "barcode scanners",
    "monitors",
    "docking stations",
    "rugged tablets",
    "check-in kiosks",
    "card readers",
    "headsets",
    "desk phones",
    "smart boards",
    "webcams",
    "conference room cameras",
    "body cams",
    "3D printers",
    "handheld scanners",
    "receipt printers",
    "MacBooks",
    "Surface Pros",
    "thin clients",
    "digital signage screens",
    "walkie-talkies",
    "tablets",
    "document cameras",
    "POS terminals",
    "wireless mics",
    "dash cams",
    "work phones",
]
COUNTS = [
    "6",
    "10",
    "12",
    "15",
    "20",
    "25",
    "30",
    "40",
    "50",
    "a dozen",
    "two hundred",
    "eight",
    "thirty",
    "a few",
    "120",
    "a batch of",
]
WHEN = [
    "next month",
    "in March",
    "this summer",
    "by September",
    "next quarter",
    "in Q3",
    "after the holidays",
    "in the new year",
    "in about six weeks",
    "this fall",
    "before the school year",
    "in January",
    "early next year",
    "end of the month",
    "in two weeks",
    "this spring",
]
RECENT = ["just", "last week", "yesterday", "this morning", "on Friday"]
VENDORS = [
    "Dell",
    "Lenovo",
    "CDW",
    "Apple",
    "HP",
    "Amazon Business",
    "a local reseller",
    "Staples",
    "Insight",
    "the vendor",
]
CLIENTS = [
    "Acme Corp",
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Fabrikam",
    "Umbrella Health",
    "Stark Logistics",
    "Blue Ridge Bank",
    "Wayne Foods",
    "the county",
    "our biggest client",
    "a client of ours",
    "our landlord",
    "the school next door",
    "my brother-in-law's firm",
    "our competitor",
]
EVENT_NAMES = [
    "the customer portal",
    "the new website",
    "our mobile app",
    "the online store",
    "the member portal",
    "the booking site",
    "the donor portal",
    "the intranet",
    "the parent app",
    "the self-service kiosk flow",
    "the new product line",
    "the podcast",
    "the webinar series",
    "the loyalty app",
]
DATA_THINGS = [
    "all the client records",
    "ten years of paper files",
    "the donor database",
    "the patient intake forms",
    "our sales data",
    "the HR files",
    "the old shared drive",
    "every spreadsheet we keep on volunteers",
    "the customer list",
    "the inventory data",
    "the grant reports",
    "attendance records",
    "the survey results",
    "the case notes",
]
DATA_TARGETS = [
    "a data warehouse",
    "one dashboard",
    "Power BI",
    "a single database",
    "the new CRM",
    "SharePoint",
    "a proper reporting setup",
    "Snowflake",
    "the cloud",
    "a Looker dashboard",
]
ITEMS = [
    "lunch",
    "coffee",
    "pizza",
    "donuts",
    "flowers for Maria",
    "a birthday cake",
    "milk for the fridge",
    "stamps",
    "a gift card",
    "bagels",
    "snacks for the meeting",
    "raffle tickets",
    "a new kettle",
    "paper towels",
    "sandwiches",
]
MEETINGS = [
    "the 3pm",
    "standup",
    "tomorrow's meeting",
    "the 1:1",
    "our sync",
    "the review",
    "Friday's call",
    "the budget meeting",
    "the team lunch",
    "the offsite",
]
FIRST_NAMES = [
    "Maria",
    "Dev",
    "Sam",
    "Priya",
    "Tom",
    "Aisha",
    "Li",
    "Jonas",
    "Fatima",
    "Carlos",
    "Grace",
    "Yuki",
    "Ben",
    "Olu",
    "Sofia",
    "Ravi",
]
EMOJI = [
    ":tada:",
    ":rocket:",
    ":eyes:",
    ":pray:",
    ":sweat_smile:",
    ":+1:",
    ":fire:",
    ":white_check_mark:",
    ":thinking_face:",
    ":raised_hands:",
    "🎉",
    "🙏",
    "👀",
    "😅",
]
LINKS = [
    "<https://example.com/quote.pdf|quote>",
    "<https://docs.example.org/plan>",
    "https://vendor.example.com/pricing",
    "<https://example.net/deck|deck>",
]
FILLER = [
    "Also the coffee machine on 2 is broken again.",
    "Reminder that timesheets are due Friday.",
    "Thanks everyone for covering last week, it was a lot.",
    "Quick update from me before I forget.",
    "Not urgent, just flagging.",
    "Hope everyone had a good weekend!",
    "The parking lot will be repainted on Saturday so park on the street.",
    "Happy birthday to Grace btw!",
    "Sorry for the wall of text.",
    "Minutes from Tuesday are in the shared folder.",
    "I'll be out Thursday afternoon for a dentist appointment.",
    "Let me know if I missed anyone.",
]

# --- frames -------------------------------------------------------------------------------
# Each frame: (kinds, template). Slots: {unit} {people} {place} {thing} (from the domain),
# {sw} {swg} {old} {hw} {n} {when} {recent} {vendor} {client} {launch} {data} {target}
# {item} {meeting} {name}. Kinds are the labels a human IT liaison would give.

SIGNAL_FRAMES: list[tuple[list[str], str]] = [
    # software purchase
    ([SW], "{unit} is buying {sw} {when}"),
    ([SW], "we're switching from {old} to {sw} {when}"),
    ([SW], "{unit} wants to sign up for {swg}, can we talk?"),
    ([SW], "heads up, we {recent} signed the contract with {sw}"),
    ([SW], "We're trialling {sw} with {unit} for a month before we commit"),
    ([SW], "finally moving off {old} onto {sw}"),
    ([SW], "{unit} got budget approval for {swg}"),
    ([SW], "we're going with {sw} for the whole org, rollout {when}"),
    ([SW], "Anyone have experience with {sw}? we're about to buy licences for {unit}"),
    ([SW], "we'd like to start using {swg} {when}, who do I talk to about that"),
    ([SW], "Decision made: {sw} it is. Contract starts {when}."),
    ([SW], "{unit} is replacing {old} with {swg}"),
    ([SW], "we are renewing {sw} and adding 20 more seats for {unit}"),
    ([SW], "Piloting {swg} in {unit} {when}"),
    ([SW], "I put in a PO for {sw} licences for {unit}"),
    ([SW], "we need {swg}, vendor demo is booked for {when}"),
    # hardware purchase
    ([HW], "{unit} is ordering {n} {hw} {when}"),
    ([HW], "we {recent} bought {n} {hw} from {vendor}"),
    ([HW], "planning to replace all the {hw} in {unit} {when}"),
    ([HW], "Can we get {n} {hw} for the new {people}?"),
    ([HW], "got a quote from {vendor} for {n} {hw}, ok to go ahead?"),
    ([HW], "we're leasing {n} {hw} for {unit} starting {when}"),
    ([HW], "{unit} needs {n} new {hw} before {thing}"),
    ([HW], "The grant came through so we're buying {n} {hw}!"),
    ([HW], "upgrading every {hw_one} in {unit} {when}"),
    ([HW], "{n} {hw} arriving {when} for {unit}, where should they be delivered"),
    ([HW], "We're getting {hw} for all the {people} {when}"),
    ([HW], "Purchase request: {n} {hw} for {unit}"),
    # office move
    ([MOVE], "{unit} is moving to {place} {when}"),
    ([MOVE], "We're moving! {unit} relocates to {place} {when}"),
    ([MOVE], "we {recent} got the keys to {place}"),
    ([MOVE], "signed the lease on {place}, move-in is {when}"),
    ([MOVE], "{unit} is going hybrid {when} and giving up half the desks"),
    ([MOVE], "we're shutting down {place} and consolidating into the main office {when}"),
    ([MOVE], "opening a second site at {place} {when}"),
    ([MOVE], "{unit} will be relocating to {place} while the renovation happens"),
    ([MOVE], "we're expanding into {place} {when}, about 30 desks"),
    ([MOVE], "the plan is to close {place} by {when} and move everyone downtown"),
    ([MOVE], "{unit} moves into {place} {when}, movers are booked"),
    ([MOVE], "Build-out of {place} starts {when}, we move in after"),
    # staffing change
    ([STAFF], "we're hiring {n} {people} {when}"),
    ([STAFF], "{unit} is onboarding {n} {people} {when}"),
    ([STAFF], "{n} new {people} start {when}"),
    ([STAFF], "Restructure: {unit} merges with {unit2} {when}"),
    ([STAFF], "{unit} is being split into two teams {when}"),
    ([STAFF], "we {recent} hired {n} {people}, they start {when}"),
    ([STAFF], "unfortunately we're laying off {n} people in {unit} {when}"),
    ([STAFF], "{unit} is bringing on {n} contractors {when}"),
    ([STAFF], "we're standing up a new team of {n} {people} {when}"),
    ([STAFF], "Welcome wave incoming: {n} {people} join {unit} {when}"),
    ([STAFF], "{unit} is doubling headcount {when}"),
    ([STAFF], "reorg announced: {unit} now reports to operations from {when}"),
    # event or launch
    ([EVENT], "we're launching {launch} {when}"),
    ([EVENT], "{launch} goes live {when}"),
    ([EVENT], "{unit} is hosting {thing} {when}, and we want to livestream it"),
    ([EVENT], "soft-launching {launch} {when} with a few customers"),
    ([EVENT], "planning a hybrid conference for 300 people {when}"),
    ([EVENT], "{unit} is running a webinar series for clients starting {when}"),
    ([EVENT], "{thing} is going virtual this year, we need registration and streaming"),
    ([EVENT], "big news: {launch} is launching {when}"),
    ([EVENT], "we're organising a hackathon for 80 students {when}"),
    ([EVENT], "Can IT help us stream {thing}? It's {when}"),
    ([EVENT], "we want to open online ticket sales for {thing}"),
    ([EVENT], "Go-live for {launch} is set for {when}"),
    # data project
    ([DATA], "we're migrating {data} into {target} {when}"),
    ([DATA], "{unit} wants to build {target} for {data}"),
    ([DATA], "we need to digitise {data} {when}"),
    ([DATA], "starting a project to clean up {data} {when}"),
    ([DATA], "{unit} is pulling {data} into {target} so we can report on it"),
    ([DATA], "we want to merge {data} with the finance numbers into {target}"),
    ([DATA], "we're purging {data} older than seven years {when}"),
    ([DATA], "{unit} wants to analyse {data} with an AI tool"),
    ([DATA], "Project kickoff {when}: consolidating {data} into {target}"),
    ([DATA], "we'd like to set up automated reporting on {data}"),
    ([DATA], "{unit} is doing a data-sharing agreement with {client} for {data}"),
    ([DATA], "exporting {data} to {target} {when}"),
    # two kinds
    ([SW, STAFF], "we're buying {swg} and hiring {n} {people} to run it"),
    ([MOVE, HW], "moving to {place} {when} and we'll need {n} {hw} there"),
    ([EVENT, DATA], "launching {launch} {when} and migrating {data} into it"),
    ([STAFF, HW], "{n} new {people} start {when}, each needs one of the {hw}"),
    ([MOVE, STAFF], "{unit} moves to {place} {when} and we're hiring {n} {people} for it"),
    ([SW, DATA], "switching to {sw} {when}, so {data} has to be migrated"),
    ([EVENT, HW], "{unit} is hosting {thing} {when} and wants to rent {n} {hw}"),
    ([SW, EVENT], "we're signing with {sw} and launching {launch} on it {when}"),
]

NEGATIVE_FRAMES: list[tuple[str, str]] = [
    # everyday senses of trigger words (hard)
    ("hard", "can someone buy {item} for {meeting}?"),
    ("hard", "let's move {meeting} to Thursday"),
    ("hard", "I'll launch the slides when everyone's in"),
    ("hard", "moving on to the next agenda item"),
    ("hard", "{name} is buying {item} today, thank her later"),
    ("hard", "we ordered {item} for {meeting}, should arrive by noon"),
    ("hard", "could we move {meeting} 30 mins later?"),
    ("hard", "I'm moving desks to sit near the window, hope that's ok"),
    ("hard", "hired a DJ for {thing} lol"),
    ("hard", "the {hw_one} in room 4 is broken again, can someone take a look"),
    ("hard", "my {hw_one} won't connect to the wifi"),
    ("hard", "how do I share my screen in {sw}?"),
    ("hard", "can you send me the {sw} link for {meeting}"),
    ("hard", "who has the password for the {sw} account"),
    ("hard", "I got a new phone so my authenticator stopped working"),
    ("hard", "The data in the Q2 report looks off, can you double check column F"),
    ("hard", "dashboard light came on in my car on the way in"),
    ("hard", "let's onboard {name} onto the rota for weekends"),
    ("hard", "can we go live on the call in 5?"),
    ("hard", "the migration of the geese is so loud outside the office"),
    ("hard", "{name} moved the files into the shared folder"),
    ("hard", "buying into the idea, let's try it at {meeting}"),
    ("hard", "I'm launching a poll for the team lunch spot"),
    ("hard", "who's hosting {meeting} this week?"),
    ("hard", "we need buy-in from {unit} before {meeting}"),
    ("hard", "I'll order {item} for {meeting} on my card"),
    ("hard", "{name} is moving house this weekend so she's off Friday"),
    ("hard", "the new {people} rota is up on the board"),
    ("hard", "hiring freeze is still on, nothing to report"),
    ("hard", "Printer on 3 is out of toner, anyone know where the spare is?"),
    ("hard", "I bought a new {hw_one} for home, loving it"),
    ("hard", "please update your signature in {sw}"),
    ("hard", "reminder: {thing} photos are on the drive"),
    ("hard", "merger of the two playlists is done, enjoy"),
    ("hard", "who approved the {sw} invoice back in 2021?"),
    ("hard", "we bought those {hw} in 2018 and they still work fine"),
    ("hard", "we moved here in 2015, the heating has never worked"),
    ("hard", "{unit} ordered pizza for everyone, come grab some"),
    ("hard", "what's the wifi password at {place}?"),
    ("hard", "I'll migrate my notes to a new notebook, the old one is full"),
    ("hard", "the {sw} export is taking forever, is it just me"),
    ("hard", "can you launch the survey link in the chat when we start"),
    ("hard", "congrats {name} on the new job!"),
    ("hard", "we're hiring a bouncy castle for {thing}"),
    # negation
    ("negation", "we're not hiring any {people} this year"),
    ("negation", "no plans to move {unit} anywhere"),
    ("negation", "we won't be buying {hw} this year, budget is frozen"),
    ("negation", "{unit} isn't switching to {sw} after all the talk"),
    ("negation", "there's no launch {when}, we don't have the budget"),
    # retractions
    ("retraction", "we were going to buy {n} {hw} but the grant fell through"),
    ("retraction", "scratch that, we're not moving to {place} after all"),
    ("retraction", "the {sw} purchase is off, leadership said no"),
    ("retraction", "update: {thing} is cancelled, so no livestream needed"),
    ("retraction", "we had planned to hire {n} {people} but that's on hold indefinitely"),
    ("retraction", "forget what I said about migrating {data}, it's not happening"),
    ("retraction", "{unit} decided against {swg}, we're sticking with {old}"),
    ("retraction", "the move to {place} got cancelled"),
    # hypotheticals
    ("hypothetical", "would be cool to livestream {thing} someday, but not this year"),
    ("hypothetical", "if we ever get budget we should buy {hw}"),
    ("hypothetical", "in an ideal world we'd move to {place}"),
    ("hypothetical", "imagine if we had {sw}, lol"),
    ("hypothetical", "maybe one day we'll have a proper dashboard for {data}"),
    ("hypothetical", "if we hired more {people} we wouldn't be this stretched, just saying"),
    ("hypothetical", "wish we could switch to {sw} but it's not in the cards"),
    # IT's own announcements
    ("it_own", "IT here: we're rolling out MFA to everyone {when}"),
    ("it_own", "IT infrastructure will replace the core switches {when}"),
    ("it_own", "Helpdesk update: we're upgrading the {sw} tenant {when}, expect a short outage"),
    ("it_own", "IT is patching all the {hw} tonight, please leave them on"),
    ("it_own", "from the IT team: the wifi in {place} will be down Saturday for maintenance"),
    ("it_own", "IT here - new password policy goes live {when}"),
    ("it_own", "IT will be migrating the file server to the new storage {when}"),
    ("it_own", "our IT team is replacing the firewall {when}, no action needed"),
    ("it_own", "service desk: we've ordered replacement toner for every printer"),
    # news about others
    ("others", "did you see {client} is moving its HQ to Denver?"),
    ("others", "{client} just bought {sw}, apparently it's going badly"),
    ("others", "{client} is hiring {n} {people}, good for them"),
    ("others", "heard {client} is launching a new app {when}"),
    ("others", "our client {client} is migrating to {sw}, we might get questions about it"),
    ("others", "news: {client} announced a merger with {client2}"),
    ("others", "{client} is opening a new office in Austin, saw it on LinkedIn"),
    ("others", "my sister's company just rolled out {sw}, she hates it"),
    # plain chatter
    ("chatter", "thanks {name}!"),
    ("chatter", "see everyone at {meeting}"),
    ("chatter", "running 5 mins late"),
    ("chatter", "can you review my doc when you get a chance"),
    ("chatter", "great job on {thing} everyone"),
    ("chatter", "who's in for lunch?"),
    ("chatter", "out sick today, will check messages later"),
    ("chatter", "{unit} is short-staffed today, bear with us"),
    ("chatter", "the minutes from {meeting} are attached"),
    ("chatter", "lol same"),
]

HAND_WRITTEN: list[tuple[list[str], str, str]] = [
    # (kinds, form, text): short, odd and idiomatic messages frames do not make well
    ([MOVE], "short", "We're moving!"),
    ([STAFF], "short", "Hiring spree!"),
    ([HW], "short", "new laptops?"),
    ([SW], "short", "Buying Salesforce."),
    ([EVENT], "short", "Launch day Monday!"),
    ([DATA], "short", "data migration time"),
    ([STAFF], "short", "3 new hires Monday"),
    ([MOVE], "short", "new office!!"),
    ([], "short", "lunch?"),
    ([], "short", "moving on"),
    ([], "short", "bought it"),
    ([], "short", "launching now"),
    ([], "short", "ok thanks"),
    ([], "short", "meeting moved"),
    ([SW], "nonnative", "We will to buy the new software for accounting in next month"),
    ([MOVE], "nonnative", "Our team is planning make move to new office at April"),
    ([STAFF], "nonnative", "Next week come five new workers in our department, please prepare"),
    ([HW], "nonnative", "We need order 20 computer for the new classroom, how is process?"),
    ([EVENT], "nonnative", "We are organise big conference for customers in autumn"),
    ([DATA], "nonnative", "Boss want that we put all old paper of clients into computer system"),
    ([], "nonnative", "Please can you move the meeting at 4 o'clock, I have doctor"),
    ([], "nonnative", "I buy the coffee for everybody tomorrow morning"),
    ([SW, STAFF], "two_kinds", "We're buying a CRM and hiring 12 reps for it"),
    ([MOVE, HW], "two_kinds", "New office in May, and the conference rooms need screens"),
    ([STAFF, SW], "two_kinds", "new HR director starts in June and wants Workday on day one"),
    ([], "it_own", "IT here: we're replacing the core switches this weekend"),
    ([], "others", "Enterprise is our car rental firm for the trip, book through them"),
    ([], "hard", "the dress code pilot starts Monday, jeans on Fridays"),
    ([], "hard", "we signed the birthday card for Li, it's on her desk"),
    ([], "hard", "moving the standup to 9:30 from tomorrow"),
    ([], "hard", "Can someone onboard me to the coffee rota?"),
    ([], "hypothetical", "would love to go hybrid one day, but the lease runs till 2030"),
    ([], "retraction", "we were going to buy 30 Chromebooks but the grant fell through"),
    # idioms, pronouns, headers and far-off products: the wording frames rarely make
    ([SW], "plain", "we're finally moving off Sage onto Xero after year end"),
    ([SW], "plain", "Ops signed with Samsara for fleet tracking, kickoff call is Tuesday"),
    ([SW], "plain", "looks like we're going with the cheaper of the two HR platforms"),
    ([SW], "plain", "the board approved the spend on that new donor database we demoed"),
    ([SW], "plain", "we want to get everyone on one shared calendar tool instead of three"),
    ([SW], "plain", "Legal is standing up an e-discovery tool before the audit"),
    ([SW], "plain", "can we expense a team plan for Figma? the designers need it from May"),
    ([SW], "plain", "Marketing has a trial of an AI copywriting tool running, want to buy it"),
    ([SW], "plain", "Purchasing: new procurement portal, contract signed, rollout in Q2"),
    ([SW], "plain", "we're replacing the paper sign-in sheet with a tablet app at reception"),
    ([SW], "question", "is anyone looking after the contract for the new booking software?"),
    ([SW], "typo", "we're siwtching to a new paryoll provider in Januray"),
    ([HW], "plain", "the new hires need laptops, can we get them ordered this week?"),
    ([HW], "plain", "we found the scanners we want, buying them after the budget meeting"),
    (
        [HW],
        "plain",
        "getting a big screen and a camera for the boardroom so remote people can join",
    ),
    ([HW], "plain", "all the old desktops in accounts are being swapped for laptops in spring"),
    ([HW], "plain", "Procurement: 25 rugged handhelds for the yard, PO going out Monday"),
    ([HW], "plain", "the clinic wants two more label printers and a fridge temperature logger"),
    ([HW], "question", "who approves buying a dozen headsets for the call team?"),
    ([HW], "typo", "we're orderign new moniters for the whole design team"),
    ([MOVE], "plain", "We're moving! New address from 1 June, details to follow"),
    ([MOVE], "plain", "lease is signed on the unit by the station, we move in over the summer"),
    ([MOVE], "plain", "we're going hybrid from September and giving back one of our floors"),
    ([MOVE], "plain", "shutting down the Westside site by the end of the year, staff move to HQ"),
    ([MOVE], "plain", "Got the keys today!! the new studio is ours from Monday"),
    ([MOVE], "plain", "the build-out of the new clinic starts in March, opening planned for June"),
    ([MOVE], "plain", "accounts are relocating upstairs while the ground floor is refitted"),
    ([MOVE], "plain", "we're merging the two branch offices into one bigger space downtown"),
    ([MOVE], "question", "has anyone told IT we're changing buildings in the autumn?"),
    ([MOVE], "typo", "we're relocatng the whole team to the new offcie in April"),
    ([STAFF], "plain", "Restructure: Sales and Customer Success become one team from March"),
    ([STAFF], "plain", "we just got approval to hire six more case workers"),
    ([STAFF], "plain", "summer interns arrive on the 10th, fourteen of them this year"),
    ([STAFF], "plain", "the night team is being cut from 12 to 8 people in the new rota"),
    ([STAFF], "plain", "a new team of data analysts is starting under finance next quarter"),
    ([STAFF], "plain", "bringing in a temp agency crew of 30 for stocktake week"),
    ([STAFF], "plain", "our new director starts next month and is bringing her own team of four"),
    ([STAFF], "question", "what do we need to do for the 20 volunteers joining in May?"),
    ([STAFF], "typo", "we're hirring 10 new sales reps for the nort region"),
    ([EVENT], "plain", "soft-launching the members' app to 50 people next week"),
    ([EVENT], "plain", "the annual conference goes hybrid this year, 400 expected, some remote"),
    ([EVENT], "plain", "we open online registration for the summer camp on 1 March"),
    ([EVENT], "plain", "our new website goes live on the 15th, old one switches off"),
    ([EVENT], "plain", "the town hall will be streamed to all sites, first time we're doing it"),
    ([EVENT], "plain", "launch of the self-service portal for tenants is planned for April"),
    ([EVENT], "plain", "we're putting on a trade show stand in Birmingham, need card payments"),
    ([EVENT], "question", "can we livestream the AGM this year? it's in six weeks"),
    ([EVENT], "typo", "we're lauching the new onlien shop in the spring"),
    ([DATA], "plain", "we need every contract in one searchable place before the audit"),
    ([DATA], "plain", "the old CRM data has to come across to the new one, about 40k contacts"),
    ([DATA], "plain", "finance wants a live dashboard of spend by department"),
    ([DATA], "plain", "we're scanning the archive boxes so we can throw out the paper"),
    ([DATA], "plain", "Data clean-up: deduplicating the supplier list before the ERP switch"),
    ([DATA], "plain", "we want to share our client list with the new partner agency"),
    (
        [DATA],
        "plain",
        "planning to put all the survey responses into one database and report on them",
    ),
    ([DATA], "question", "who can help us pull ten years of sales into a report?"),
    ([DATA], "typo", "we're migratign the donor recods into the new systme"),
    (
        [SW, STAFF],
        "two_kinds",
        "two new recruiters start Monday and they'll need the new ATS we bought",
    ),
    (
        [MOVE, EVENT],
        "two_kinds",
        "we're moving into the new hall and opening it with a launch party",
    ),
    ([], "others", "Enterprise is sending the van for the move at 9, keys at reception"),
    ([], "hard", "the casual dress pilot runs through August, trainers are fine"),
    ([], "hard", "can we go live on the all-hands stream at 10 sharp?"),
    ([], "hard", "please onboard Tom to the weekend on-call rota"),
    ([], "others", "big merger news in the papers today, not us thankfully"),
    ([], "hypothetical", "we could livestream the quiz night one day if people wanted"),
    ([], "hard", "we hired a caterer for the leaving do, veggie options included"),
    ([], "hard", "moving the stand-up to the small room today"),
    ([], "hard", "I'm buying the next round, who's in?"),
    ([], "hard", "launch the poll when you're ready and I'll share the link"),
    ([], "hard", "the dashboard on the coffee machine says descale, can someone do it"),
    ([], "hard", "new starter forms are in the shared drive as usual"),
    ([], "hard", "we moved the boxes to the basement, the hallway is clear now"),
    ([], "retraction", "the office move is off, landlord pulled out yesterday"),
    ([], "retraction", "we were planning a new website this year but it's been pushed to 2030"),
    ([], "retraction", "hiring 5 more nurses was the plan; the funding didn't come through"),
    ([], "retraction", "we almost bought Monday.com but decided to stay with spreadsheets"),
    ([], "hypothetical", "if the grant comes through next year maybe we'd get new laptops"),
    ([], "hypothetical", "someday it would be great to have all our data in one place"),
    ([], "negation", "we're not changing the CRM, whatever you heard"),
    ([], "negation", "no new hires this quarter, headcount is frozen"),
    ([], "it_own", "IT update: switching the guest wifi to the new controller tonight"),
    ([], "it_own", "from IT: laptops will reboot for updates on Thursday"),
    ([], "it_own", "IT ops is migrating the mail gateway this weekend, no action needed"),
    ([], "others", "our client is buying 200 laptops and wants us to set them up"),
    ([], "others", "the council next door is moving to Microsoft 365 apparently"),
    ([], "others", "a supplier of ours got bought by a big group, no change for us"),
]

# --- forms ---------------------------------------------------------------------------------


def typo(text: str, rng: random.Random, count: int = 2) -> str:
    """Swap, drop, double or mistype letters inside a few words of four letters or more."""
    return misspell(text, rng, count)


def _question(text: str, rng: random.Random) -> str:
    prefix = rng.choice(["fyi ", "quick q: ", "", "so ", "hey team, "])
    return prefix + text.rstrip(".!?") + rng.choice(["?", " - is that ok?", ", thoughts?"])


def _markup(text: str, rng: random.Random) -> str:
    pieces = [text]
    if rng.random() < 0.6:
        pieces.insert(0, f"<@U{rng.randrange(10**7, 10**8)}>")
    if rng.random() < 0.5:
        pieces.append(rng.choice(LINKS))
    pieces.append(rng.choice(EMOJI))
    out = " ".join(pieces)
    if rng.random() < 0.3:
        out = "*" + out + "*"
    return out


def _long(text: str, rng: random.Random) -> str:
    before = rng.sample(FILLER, rng.randrange(1, 4))
    after = rng.sample([f for f in FILLER if f not in before], rng.randrange(1, 3))
    return " ".join([*before, text[0].upper() + text[1:] + ".", *after])


def _case(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return text[0].upper() + text[1:]
    if roll < 0.6:
        return text.upper() if len(text) < 60 else text
    if roll < 0.8:
        return text.lower()
    return text


FORMS = ["plain", "plain", "plain", "question", "typo", "markup", "long"]


def shape(text: str, form: str, rng: random.Random) -> str:
    """Write a message in one form."""
    if form == "question":
        return _question(text, rng)
    if form == "typo":
        return typo(_case(text, rng), rng)
    if form == "markup":
        return _markup(text, rng)
    if form == "long":
        return _long(text, rng)
    return _case(text, rng)


# --- filling -------------------------------------------------------------------------------


def fill(template: str, domain: str, rng: random.Random) -> str:
    """Fill a frame's slots for one organisation."""
    return template.format(**_values(domain, rng))


def _values(domain: str, rng: random.Random) -> dict[str, str]:
    """One filling of every slot for one organisation."""
    slots = DOMAINS[domain]
    unit, unit2 = rng.sample(slots["unit"], 2)
    client, client2 = rng.sample(CLIENTS, 2)
    hw = rng.choice(HARDWARE)
    values = {
        "unit": unit,
        "unit2": unit2,
        "people": rng.choice(slots["people"]),
        "place": rng.choice(slots["place"]),
        "thing": rng.choice(slots["thing"]),
        "sw": rng.choice(SOFTWARE),
        "swg": rng.choice(SOFTWARE_GENERIC),
        "old": rng.choice(OLD_SOFTWARE),
        "hw": hw,
        "hw_one": hw[:-1] if hw.endswith("s") else hw,
        "n": rng.choice(COUNTS),
        "when": rng.choice(WHEN),
        "recent": rng.choice(RECENT),
        "vendor": rng.choice(VENDORS),
        "client": client,
        "client2": client2,
        "launch": rng.choice(EVENT_NAMES),
        "data": rng.choice(DATA_THINGS),
        "target": rng.choice(DATA_TARGETS),
        "item": rng.choice(ITEMS),
        "meeting": rng.choice(MEETINGS),
        "name": rng.choice(FIRST_NAMES),
    }
    return values


# --- composed messages ---------------------------------------------------------------------
# Sentences put together from a subject, a verb in some tense and an object, so that the
# model meets each verb with many objects and each object with many verbs: the words that
# carry a signal are learned one by one, not as fixed phrases. Verbs: (base, -ing, past).

VERBS: dict[str, list[tuple[str, str, str]]] = {
    SW: [
        ("buy", "buying", "bought"),
        ("purchase", "purchasing", "purchased"),
        ("license", "licensing", "licensed"),
        ("subscribe to", "subscribing to", "subscribed to"),
        ("sign up for", "signing up for", "signed up for"),
        ("switch to", "switching to", "switched to"),
        ("roll out", "rolling out", "rolled out"),
        ("trial", "trialling", "trialled"),
        ("pilot", "piloting", "piloted"),
        ("adopt", "adopting", "adopted"),
        ("go with", "going with", "went with"),
        ("sign with", "signing with", "signed with"),
        ("implement", "implementing", "implemented"),
        ("bring in", "bringing in", "brought in"),
        ("get", "getting", "got"),
    ],
    HW: [
        ("buy", "buying", "bought"),
        ("order", "ordering", "ordered"),
        ("purchase", "purchasing", "purchased"),
        ("get", "getting", "got"),
        ("lease", "leasing", "leased"),
        ("replace", "replacing", "replaced"),
        ("upgrade", "upgrading", "upgraded"),
        ("procure", "procuring", "procured"),
        ("pick up", "picking up", "picked up"),
        ("rent", "renting", "rented"),
        ("kit out the team with", "kitting out the team with", "kitted out the team with"),
    ],
    MOVE: [
        ("move to", "moving to", "moved to"),
        ("relocate to", "relocating to", "relocated to"),
        ("move into", "moving into", "moved into"),
        ("take over", "taking over", "took over"),
        ("open a new office at", "opening a new office at", "opened a new office at"),
        ("sign the lease on", "signing the lease on", "signed the lease on"),
        ("get the keys to", "getting the keys to", "got the keys to"),
        ("consolidate into", "consolidating into", "consolidated into"),
        ("expand into", "expanding into", "expanded into"),
        ("set up shop in", "setting up shop in", "set up shop in"),
        ("close down", "closing down", "closed down"),
        ("renovate", "renovating", "renovated"),
        ("fit out", "fitting out", "fitted out"),
    ],
    STAFF: [
        ("hire", "hiring", "hired"),
        ("onboard", "onboarding", "onboarded"),
        ("bring on", "bringing on", "brought on"),
        ("recruit", "recruiting", "recruited"),
        ("take on", "taking on", "took on"),
        ("lay off", "laying off", "laid off"),
        ("add", "adding", "added"),
        ("welcome", "welcoming", "welcomed"),
        ("staff up with", "staffing up with", "staffed up with"),
        ("contract", "contracting", "contracted"),
    ],
    EVENT: [
        ("launch", "launching", "launched"),
        ("host", "hosting", "hosted"),
        ("run", "running", "ran"),
        ("livestream", "livestreaming", "livestreamed"),
        ("go live with", "going live with", "went live with"),
        ("unveil", "unveiling", "unveiled"),
        ("organise", "organising", "organised"),
        ("stream", "streaming", "streamed"),
        ("open registration for", "opening registration for", "opened registration for"),
        ("kick off", "kicking off", "kicked off"),
    ],
    DATA: [
        ("migrate", "migrating", "migrated"),
        ("digitise", "digitising", "digitised"),
        ("clean up", "cleaning up", "cleaned up"),
        ("consolidate", "consolidating", "consolidated"),
        ("analyse", "analysing", "analysed"),
        ("archive", "archiving", "archived"),
        ("build a dashboard on", "building a dashboard on", "built a dashboard on"),
        ("centralise", "centralising", "centralised"),
        ("integrate", "integrating", "integrated"),
        ("set up reporting on", "setting up reporting on", "set up reporting on"),
        ("merge", "merging", "merged"),
        ("scan in", "scanning in", "scanned in"),
    ],
}
EVENTS = [
    "a conference for 300 people",
    "a webinar series",
    "a hybrid town hall",
    "a hackathon",
    "{thing}",
    "an online open day",
    "a customer summit",
    "a virtual fundraiser",
    "{launch}",
]


def _object(kind: str, verb: str, values: dict[str, str], rng: random.Random) -> str:
    if kind == SW:
        return rng.choice([values["sw"], values["swg"], f"{values['sw']} for {values['unit']}"])
    if kind == HW:
        return rng.choice(
            [
                f"{values['n']} {values['hw']}",
                f"new {values['hw']}",
                f"{values['hw']} for the {values['people']}",
                f"{values['n']} {values['hw']}",
            ]
        )
    if kind == MOVE:
        return values["place"]
    if kind == STAFF:
        return rng.choice(
            [
                f"{values['n']} {values['people']}",
                f"more {values['people']}",
                f"{values['n']} new {values['people']}",
            ]
        )
    if kind == EVENT:
        return (
            rng.choice(EVENTS).format(**values)
            if verb not in ("launch", "go live with", "unveil")
            else values["launch"]
        )
    if kind == DATA:
        thing = values["data"]
        return rng.choice([thing, f"{thing} into {values['target']}"])
    raise ValueError(kind)


SUBJECTS = [
    "we",
    "{unit}",
    "our team",
    "the {unit} team",
    "I",
    "my team",
    "{name}'s team",
    "{unit} and {unit2}",
]
PLURAL_SUBJECTS = {"we", "our team", "my team", "{unit} and {unit2}"}


def _clause(kind: str, rng: random.Random, values: dict[str, str], tense: str) -> str:
    """One clause stating a plan of a kind: subject, verb in a tense, object, time."""
    base, ing, past = rng.choice(VERBS[kind])
    obj = _object(kind, base, values, rng)
    subject = rng.choice(SUBJECTS).format(**values)
    be = (
        "are"
        if subject in ("we", "our team", "my team") or " and " in subject
        else ("am" if subject == "I" else "is")
    )
    when = values["when"]
    if tense == "progressive":
        return f"{subject} {be} {ing} {obj} {when}"
    if tense == "future":
        aux = rng.choice(
            [
                "will",
                "are going to",
                "plan to",
                "want to",
                "need to",
                "have decided to",
                "hope to",
                "'ll",
            ]
        )
        if aux == "'ll":
            return f"{subject}'ll {base} {obj} {when}"
        if aux == "are going to":
            aux = f"{be} going to"
        return f"{subject} {aux} {base} {obj} {when}"
    if tense == "recent":
        return f"{subject} {rng.choice(['just', 'finally', 'have just'])} {past} {obj}"
    if tense == "headline":
        return f"{ing[0].upper()}{ing[1:]} {obj} {when}"
    if tense == "request":
        return rng.choice(
            [
                f"can we {base} {obj} {when}?",
                f"ok if {subject} {base} {obj}?",
                f"who do I talk to about {ing} {obj}?",
            ]
        )
    raise ValueError(tense)


TENSES = ["progressive", "future", "recent", "headline", "request"]
RETRACTION_TAILS = [
    "but the grant fell through",
    "but leadership said no",
    "but that's off now",
    "but it's been shelved",
    "but it's on hold indefinitely",
    "but the budget got cut",
    "but we decided against it",
    "but the board vetoed it",
]
HYPOTHETICAL = [
    "would be nice to {base} {obj} someday, not this year though",
    "if we ever get money we should {base} {obj}",
    "maybe one day we'll {base} {obj}",
    "in an ideal world we'd {base} {obj}",
    "wish we could {base} {obj}, but no chance",
    "imagine if we could {base} {obj}",
]
NEGATED = [
    "we're not {ing} {obj}",
    "no plans to {base} {obj}",
    "we won't {base} {obj} this year",
    "{unit} decided not to {base} {obj}",
    "we are definitely not {ing} {obj} {when}",
]
IT_SUBJECTS = [
    "IT",
    "the IT team",
    "IT here:",
    "Helpdesk:",
    "infrastructure",
    "the service desk",
    "IT ops",
]
IT_WORK = [
    "replacing the core switches",
    "patching every server",
    "migrating the file server",
    "rolling out MFA",
    "upgrading the firewall",
    "imaging the new laptops for staff",
    "moving the backups to new storage",
    "renewing the Microsoft licences",
    "replacing the wifi access points in {place}",
    "rebuilding the VPN",
    "retiring the old print server",
    "updating every {hw_one} to the new OS",
]
EVERYDAY = [
    ("buy", "buying", "bought", "{item}"),
    ("order", "ordering", "ordered", "{item}"),
    ("move", "moving", "moved", "{meeting}"),
    ("launch", "launching", "launched", "the slides"),
    ("launch", "launching", "launched", "the poll"),
    ("host", "hosting", "hosted", "{meeting}"),
    ("hire", "hiring", "hired", "a minibus"),
    ("hire", "hiring", "hired", "a DJ for {thing}"),
    ("stream", "streaming", "streamed", "the match"),
    ("switch", "switching", "switched", "desks"),
    ("get", "getting", "got", "coffee"),
    ("migrate", "migrating", "migrated", "my notes to a new notebook"),
    ("clean up", "cleaning up", "cleaned up", "the kitchen"),
    ("sign", "signing", "signed", "the card for {name}"),
    ("onboard", "onboarding", "onboarded", "{name} onto the coffee rota"),
    ("replace", "replacing", "replaced", "the water filter"),
    ("open", "opening", "opened", "a ticket about my {hw_one}"),
    ("move", "moving", "moved", "my car"),
    ("run", "running", "ran", "the raffle"),
    ("book", "booking", "booked", "a room for {meeting}"),
]


def composed(rng: random.Random, count: int) -> list[dict]:
    """Signals and look-alikes from parts; ``template`` names the verb's family."""
    rows: list[dict] = []
    kinds = [SW, HW, MOVE, STAFF, EVENT, DATA]
    for number in range(count):
        domain = rng.choice(DOMAIN_NAMES)
        values = _values(domain, rng)
        roll = rng.random()
        kind = rng.choice(kinds)
        tense = rng.choice(TENSES)
        if roll < 0.40:
            text, labels, group = _clause(kind, rng, values, tense), [kind], "signal"
        elif roll < 0.47:
            other = rng.choice([k for k in kinds if k != kind])
            first = _clause(kind, rng, values, rng.choice(TENSES[:3]))
            second = _clause(other, rng, _values(domain, rng), "future")
            text, labels, group = f"{first} and {second}", [kind, other], "two_kinds"
        elif roll < 0.62:
            base, ing, past, obj = rng.choice(EVERYDAY)
            obj = obj.format(**values)
            subject = rng.choice(["we", "I", "{name}", "{unit}"]).format(**values)
            be = {"we": "are", "I": "am"}.get(subject, "is")
            text = rng.choice(
                [
                    f"{subject} {be} {ing} {obj} {values['when']}",
                    f"can someone {base} {obj}?",
                    f"{subject} just {past} {obj}",
                    f"let's {base} {obj}",
                    f"{ing} {obj} now",
                ]
            )
            labels, group = [], "hard"
        elif roll < 0.72:
            clause = _clause(kind, rng, values, rng.choice(["progressive", "future"]))
            text, labels, group = f"{clause} {rng.choice(RETRACTION_TAILS)}", [], "retraction"
            if rng.random() < 0.3:
                base, ing, past = rng.choice(VERBS[kind])
                obj = _object(kind, base, values, rng)
                text = f"we were going to {base} {obj} {rng.choice(RETRACTION_TAILS)}"
        elif roll < 0.79:
            base, ing, past = rng.choice(VERBS[kind])
            obj = _object(kind, base, values, rng)
            text = rng.choice(HYPOTHETICAL).format(base=base, obj=obj)
            labels, group = [], "hypothetical"
        elif roll < 0.85:
            base, ing, past = rng.choice(VERBS[kind])
            obj = _object(kind, base, values, rng)
            text = rng.choice(NEGATED).format(base=base, ing=ing, obj=obj, **values)
            labels, group = [], "negation"
        elif roll < 0.92:
            subject = rng.choice(IT_SUBJECTS)
            work = rng.choice(IT_WORK).format(**values)
            verb = "" if subject.endswith(":") else rng.choice(["is", "will be", "are"]) + " "
            text = f"{subject} {verb}{work} {values['when']}"
            labels, group = [], "it_own"
        else:
            base, ing, past = rng.choice(VERBS[kind])
            obj = _object(kind, base, values, rng)
            client = values["client"]
            text = rng.choice(
                [
                    f"{client} is {ing} {obj}, saw it in the news",
                    f"heard {client} {past} {obj}",
                    f"our client {client} is {ing} {obj}",
                ]
            )
            labels, group = [], "others"
        form = rng.choice(FORMS)
        rows.append(
            {
                "text": shape(text, form, rng),
                "kinds": labels,
                "form": form,
                "group": group,
                "domain": domain,
                "template": f"c-{group}-{number % 40:02d}",
            }
        )
    return rows


# Everyday short messages: most of what a channel hears. A detector that has seen few of
# them reads a signal into "on it" or "hi there" from the little it has to go on.
SHORT_CHATTER = [
    "hi there",
    "hello",
    "hey",
    "hi all",
    "morning!",
    "good morning",
    "gm",
    "good night",
    "ok",
    "okay",
    "ok thanks",
    "k",
    "kk",
    "yes",
    "yep",
    "yeah",
    "no",
    "nope",
    "sure",
    "thanks",
    "thank you!",
    "thx",
    "ty",
    "cheers",
    "much appreciated",
    "np",
    "no worries",
    "no problem",
    "sounds good",
    "sounds great",
    "great",
    "awesome",
    "nice",
    "nice one",
    "cool",
    "perfect",
    "love it",
    "agreed",
    "same",
    "me too",
    "+1",
    "lol",
    "haha",
    "lmao",
    "omg",
    "wow",
    "oh no",
    "ugh",
    "sorry",
    "my bad",
    "oops",
    "brb",
    "back",
    "afk",
    "on it",
    "done",
    "all done",
    "fixed",
    "will do",
    "got it",
    "noted",
    "ack",
    "roger",
    "see you",
    "see you tomorrow",
    "see you at 3",
    "bye",
    "later",
    "ttyl",
    "have a good one",
    "enjoy your weekend",
    "happy friday!",
    "happy monday",
    "welcome back!",
    "congrats!",
    "well done",
    "great work team",
    "good luck!",
    "feel better soon",
    "happy birthday!",
    "where is it?",
    "who has it?",
    "what time?",
    "when?",
    "why?",
    "how?",
    "which one?",
    "link?",
    "any update?",
    "anyone?",
    "is it working now?",
    "can you call me?",
    "call me when free",
    "ping me",
    "one sec",
    "just a min",
    "running late",
    "5 min late",
    "stuck in traffic",
    "on my way",
    "here",
    "present",
    "joining now",
    "can't make it",
    "i'm out today",
    "wfh today",
    "in the office today",
    "lunch?",
    "coffee?",
    "who's in?",
    "count me in",
    "i'm in",
    "pass",
    "maybe later",
    "let me check",
    "checking",
    "looking into it",
    "will look",
    "try again?",
    "works now",
    "still broken",
    "it's fine",
    "all good",
    "makes sense",
    "interesting",
    "fair point",
    "good question",
    "not sure",
    "no idea",
    "idk",
    "tbh no",
    "hmm",
    "true",
    "exactly",
    "yep that's it",
    "see above",
    "see thread",
    "replied in thread",
    "dm'd you",
    "sent",
    "sent it",
    "got your email",
    "read it",
    "signed",
    "approved",
    "merged",
    "shipped",
    "booked",
    "ordered",
    "moved",
    "bought",
    "launched",
    "hired",
    "booked it",
    "on the way",
]


def short_chatter(rng: random.Random) -> list[dict]:
    """Each short message in two forms, as people write them."""
    rows = []
    for text in SHORT_CHATTER:
        for form in rng.sample(["plain", "plain", "markup", "question", "typo"], 2):
            written = shape(text, form, rng) if form != "question" else text.rstrip("?!") + "?"
            rows.append(
                {
                    "text": written,
                    "kinds": [],
                    "form": "short",
                    "group": "chatter",
                    "domain": "any",
                    "template": "short",
                }
            )
    return rows


def build(seed: int = SEED) -> list[dict]:
    """Every message of the corpus, with its split."""
    rng = random.Random(seed)
    frames: list[tuple[str, list[str], str, str | None]] = []
    for number, (kinds, template) in enumerate(SIGNAL_FRAMES):
        frames.append((f"s{number:03d}", kinds, template, None))
    for number, (group, template) in enumerate(NEGATIVE_FRAMES):
        frames.append((f"n{number:03d}", [], template, group))
    order = [frame[0] for frame in frames] + ["hand"]
    rng.shuffle(order)
    cut_valid, cut_test = int(len(order) * 0.70), int(len(order) * 0.85)
    split_of = {
        key: ("train" if i < cut_valid else "valid" if i < cut_test else "test")
        for i, key in enumerate(order)
    }
    split_of["hand"] = "train"  # the hand-written few teach shapes frames cannot make
    rows: list[dict] = []
    seen: set[str] = set()
    for key, kinds, template, group in frames:
        has_slots = "{" in template
        for _ in range(PER_FRAME if has_slots else 4):
            domain = rng.choice(DOMAIN_NAMES)
            form = rng.choice(FORMS)
            text = shape(fill(template, domain, rng), form, rng)
            if text in seen:
                continue
            seen.add(text)
            rows.append(
                {
                    "text": text,
                    "kinds": kinds,
                    "form": form,
                    "group": group or ("two_kinds" if len(kinds) > 1 else "signal"),
                    "domain": domain,
                    "template": key,
                    "split": split_of[key],
                }
            )
    for row in composed(rng, COMPOSED):
        if row["text"] in seen:
            continue
        seen.add(row["text"])
        roll = rng.random()
        row["split"] = "train" if roll < 0.70 else "valid" if roll < 0.85 else "test"
        rows.append(row)
    for row in short_chatter(random.Random(seed + 1)):  # its own stream: no other split moves
        if row["text"] in seen:
            continue
        seen.add(row["text"])
        roll = rng.random()
        row["split"] = "train" if roll < 0.70 else "valid" if roll < 0.85 else "test"
        rows.append(row)
    for kinds, form, text in HAND_WRITTEN:
        rows.append(
            {
                "text": text,
                "kinds": kinds,
                "form": form if form in ("short", "nonnative") else "plain",
                "group": form
                if form not in ("short", "nonnative")
                else ("signal" if kinds else "hard"),
                "domain": "any",
                "template": "hand",
                "split": "train",
            }
        )
    return rows


def main() -> int:
    rows = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    positives = sum(1 for row in rows if row["kinds"])
    print(f"{len(rows)} messages ({positives} signals) written to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

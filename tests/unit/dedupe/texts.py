"""Project-written news text and article builders for the dedupe tests (no corpus text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsalert.models import Article

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)

# Project-written text (not corpus): a wire story and a second story on the same topic.
STORY = [
    "The harbour authority of Eastport said on Monday it would close the northern pier "
    "for six weeks after engineers found cracks in three of its concrete pillars.",
    "Ferries to the islands will use the southern terminal until repairs are finished, "
    "the authority said in a statement.",
    "Officials estimated the cost of the work at 4.2 million euros and said the money "
    "would come from the port's maintenance reserve.",
    "The northern pier handles about a third of the passenger traffic in summer, "
    "according to figures published by the regional transport office last year.",
    "Local businesses near the pier warned that the closure would hurt trade during the "
    "spring festival, which usually draws several thousand visitors.",
    "A spokeswoman for the authority said inspections of the remaining piers were "
    "planned for later this month and that no other damage had been reported so far.",
    "The cracks were discovered during a routine survey that divers carry out every "
    "two years on the harbour's underwater structures.",
    "Engineers said the pillars were safe for now but that heavy vehicles would be "
    "barred from the pier immediately as a precaution.",
    "The regional government has promised to review funding for port maintenance after "
    "a similar closure at Westhaven cost the local economy dearly two years ago.",
    "Ferry operators said timetables would stay the same but passengers should allow "
    "extra time to reach the southern terminal from the town centre.",
]
OTHER_STORY = [
    "The harbour authority of Eastport on Thursday reopened the northern pier ahead of "
    "schedule after repairs to its concrete pillars were completed in four weeks.",
    "Ferries returned to their usual berths on the first crossing of the morning, and "
    "the operators thanked passengers for their patience during the works.",
    "The final bill came in below the estimate, at 3.9 million euros, a spokesman said, "
    "adding that unused money would go back to the maintenance reserve.",
    "Traders near the pier said the reopening came just in time for the festival, and "
    "several cafes extended their opening hours for the weekend.",
    "Inspections of the other piers found only minor wear that will be fixed during the "
    "regular winter maintenance period, the authority added.",
]

# Short briefs and an outlet's own byline and footers (longer than the briefs).
BRIEFS = [
    [
        "Shares of Northwind Mining rose 4 percent on Tuesday after the company reported "
        "higher copper output.",
        "The company said production at its main mine reached a record in the third quarter.",
    ],
    [
        "The city council of Lakeside approved a new budget for public libraries on "
        "Wednesday evening.",
        "Opening hours at the central library will be extended by two hours on weekdays.",
    ],
    [
        "A regional airline said it would add three weekly flights between Porto and the Azores.",
        "The new service starts in May and will use turboprop aircraft with 70 seats.",
    ],
    [
        "Farmers in the southern valley expect a smaller olive harvest after a dry summer.",
        "The cooperative said volumes could fall by a fifth compared with last year.",
    ],
]
OUTLET_WRAP = (
    ["By our correspondent, with agencies and staff reporters in the region."],
    [
        "This story was first published by the wire service and is republished with permission.",
        "Sign up for our morning newsletter to get the most important stories of the day in "
        "your inbox.",
        "Copyright 2026 the wire service, all rights reserved and this material may not be "
        "redistributed.",
    ],
)


def article(
    ident: str,
    sentences: list[str],
    *,
    title: str = "Eastport closes northern pier",
    url: str | None = None,
    source: str = "wire",
    at: datetime = T0,
) -> Article:
    """An article built from ``sentences``."""
    return Article(
        id=ident, title=title, body=" ".join(sentences), url=url, source=source, published_at=at
    )


def syndicated(sentences: list[str]) -> list[str]:
    """A copy as an outlet runs it: last paragraph cut, two swapped, boilerplate added."""
    body = list(sentences[:-2])
    body[1], body[2] = body[2], body[1]
    return [
        "By our correspondent, with agencies.",
        *body,
        "This story was first published by the wire service. All rights reserved.",
    ]

"""The behaviour suite's lexicons: words, phrases and sentences written for this project.

Nothing here is downloaded or copied from a dataset. Every list is plain data; the templates that
combine them live in :mod:`engine.behaviour._templates`. Polarity is the plain reading of a phrase
in a movie review ("wooden" acting is bad, a "gripping" story good); the lists avoid words whose
sentiment depends on context ("long", "simple", "dark").
"""

from __future__ import annotations

# things a review talks about ("the {aspect} is ...")
ASPECTS = (
    "acting", "plot", "script", "story", "ending", "dialogue", "soundtrack", "score", "direction",
    "cinematography", "screenplay", "pacing", "editing", "cast", "lead performance", "camera work",
    "humour", "finale", "first act", "set design", "photography", "writing", "casting", "premise",
)  # fmt: skip
FILMS = ("film", "movie", "picture", "feature", "drama", "comedy", "thriller", "documentary", "sequel")

POS_ADJ = (
    "wonderful", "superb", "brilliant", "excellent", "delightful", "moving", "gripping", "beautiful",
    "stunning", "terrific", "masterful", "charming", "riveting", "outstanding", "fantastic", "great",
    "lovely", "magnificent", "marvellous", "powerful", "touching", "engaging", "clever", "witty",
    "enjoyable", "memorable", "impressive", "compelling", "exhilarating", "heartfelt", "breathtaking",
    "splendid", "sublime", "glorious", "funny", "absorbing", "elegant", "inventive",
)  # fmt: skip
NEG_ADJ = (
    "awful", "terrible", "dreadful", "boring", "dull", "tedious", "horrible", "lifeless", "clumsy",
    "incoherent", "pointless", "painful", "lazy", "bland", "stupid", "weak", "poor", "mediocre",
    "forgettable", "awkward", "annoying", "unwatchable", "laughable", "wooden", "muddled", "shallow",
    "tiresome", "disappointing", "abysmal", "atrocious", "embarrassing", "insufferable", "amateurish",
    "lousy", "sloppy", "hollow", "flat", "ridiculous",
)  # fmt: skip

# verbs of a viewer's feeling: past and present tense, same order
POS_VERB_PAST = ("loved", "adored", "enjoyed", "admired", "cherished", "liked")
POS_VERB_NOW = ("love", "adore", "enjoy", "admire", "cherish", "like")
NEG_VERB_PAST = ("hated", "despised", "loathed", "disliked", "detested", "resented")
NEG_VERB_NOW = ("hate", "despise", "loathe", "dislike", "detest", "resent")

POS_PHRASES = (
    "a must-see", "worth every minute", "a real gem", "a triumph", "a joy from start to finish",
    "an instant classic", "a masterpiece", "money well spent", "a delight", "a treat",
    "one of the best films of the year", "a pleasure to watch", "a work of art", "a crowd-pleaser",
)  # fmt: skip
NEG_PHRASES = (
    "a waste of time", "a complete mess", "a total disaster", "a chore to sit through",
    "a waste of money", "a snooze", "an insult to the audience", "a train wreck", "a slog",
    "one of the worst films of the year", "a letdown from start to finish", "a mess",
    "two hours I will never get back", "an embarrassment",
)  # fmt: skip

# phrases for "this is not ...": negated, each plainly reads the other way
NEGATABLE_NEG = (
    "a waste of time", "a waste of money", "a chore to sit through", "a snooze", "a mess",
    "a disaster", "a film to avoid", "a bore",
)  # fmt: skip
NEGATABLE_POS = (
    "a must-see", "worth the ticket", "money well spent", "a pleasure to watch", "worth your time",
    "a film I would recommend", "a film to remember", "a success",
)  # fmt: skip

# nouns for "hardly a ..." (negated, they flip)
NEG_NOUNS = (
    "failure", "disappointment", "mess", "bore", "disaster", "flop", "letdown", "chore",
    "waste of time", "dud", "misfire", "slog",
)  # fmt: skip
POS_NOUNS = (
    "masterpiece", "triumph", "classic", "gem", "success", "pleasure", "must-see", "delight", "treat",
    "revelation", "joy", "winner",
)  # fmt: skip
NEG_FEELINGS = ("bored", "disappointed", "let down", "annoyed", "irritated", "restless")
POS_FEELINGS = ("moved", "entertained", "impressed", "delighted", "gripped", "thrilled")
# "it never ..." (third person present)
NEVER_BAD = (
    "drags", "disappoints", "bores", "falls flat", "wastes a scene", "feels cheap", "loses its grip",
    "outstays its welcome", "hits a false note",
)  # fmt: skip
NEVER_GOOD = (
    "works", "comes alive", "catches fire", "earns its ending", "takes off", "grips", "rings true",
    "finds its footing", "lands a joke",
)  # fmt: skip
EXPECTED = (
    "I feared", "I expected", "I had been told", "the trailer suggested", "the reviews said",
    "I thought it would be", "my friends warned me",
)  # fmt: skip
HOPED = (
    "I hoped", "I expected", "I had been told", "the trailer promised", "the reviews said",
    "I thought it would be", "my friends promised",
)  # fmt: skip

INTENSIFIERS = (
    "really", "extremely", "truly", "incredibly", "absolutely", "remarkably", "thoroughly",
    "exceptionally", "genuinely", "totally", "very", "utterly",
)  # fmt: skip
HEDGES = (
    "somewhat", "fairly", "slightly", "a bit", "sort of", "rather", "mildly", "moderately",
    "a little", "kind of", "more or less", "reasonably",
)  # fmt: skip

# people, titles, places: neutral fillers that must not move a prediction
FIRST_NAMES = (
    "Maria", "James", "Aiko", "Tomas", "Priya", "Daniel", "Fatima", "Lukas", "Chloe", "Kwame",
    "Elena", "Oliver", "Mei", "Rafael", "Ingrid", "Samuel", "Leila", "Viktor", "Hannah", "Diego",
    "Nadia", "Owen", "Sofia", "Jonas", "Amara", "Patrick", "Yuki", "Marco", "Greta", "Idris",
)  # fmt: skip
LAST_NAMES = (
    "Lopez", "Carter", "Tanaka", "Novak", "Sharma", "Brennan", "Haddad", "Weber", "Dubois", "Mensah",
    "Petrova", "Hughes", "Chen", "Moreno", "Lindqvist", "Okafor", "Rossi", "Kowalski", "Fischer",
    "Alvarez", "Nakamura", "Byrne", "Costa", "Jensen", "Adeyemi", "Marsh", "Ito", "Santos", "Keller",
    "Quinn",
)  # fmt: skip
TITLE_FIRST = (
    "The Glass", "The Silent", "Midnight", "The Last", "Northern", "The Paper", "Winter", "The Hollow",
    "Crimson", "The Long", "Seven", "The Iron", "Distant", "The Salt", "Summer", "The Quiet",
    "Broken", "The Copper", "Endless", "The Velvet",
)  # fmt: skip
TITLE_SECOND = (
    "Orchard", "Harbour", "Ferry", "Lighthouse", "Station", "Garden", "Kingdom", "River", "Letters",
    "Machine", "Horizon", "Bridge", "Archive", "Lantern", "Mountain", "Echoes", "Parade", "Tides",
    "Compass", "Frontier",
)  # fmt: skip
ROLES = (
    "detective", "teacher", "pilot", "widow", "chef", "boxer", "journalist", "nurse", "farmer",
    "lawyer", "painter", "soldier", "singer", "doctor", "mechanic", "librarian",
)  # fmt: skip
CITIES = (
    "Lisbon", "Osaka", "Glasgow", "Nairobi", "Montreal", "Krakow", "Valparaiso", "Hamburg", "Perth",
    "Bologna", "Tbilisi", "Cork",
)  # fmt: skip

# sentences that carry no sentiment about the film
NEUTRAL_SENTENCES = (
    "I saw it on a Tuesday afternoon.",
    "The cinema was half full.",
    "My brother came with me.",
    "It was raining when we left the theatre.",
    "I watched it on a plane.",
    "The film came out in the spring.",
    "We bought popcorn before it started.",
    "I went with two friends from work.",
    "I had read about it in the newspaper.",
    "It is the director's third feature.",
    "The film is in English with a few scenes in French.",
    "I watched it at home on a Sunday evening.",
    "The story takes place in a small coastal town.",
    "It was shown with subtitles.",
    "The screening was at seven o'clock.",
    "I rented it from the library.",
    "My neighbour lent me the disc.",
    "Most of it was shot on location.",
    "The film is based on a novel.",
    "I saw it at a festival last year.",
    "We watched it after dinner.",
    "The trailer played before another film a month ago.",
    "It runs a little under two hours.",
    "I saw the late showing.",
)

# document-level turns: complaints and praise without a verdict, then a verdict
COMPLAINTS = (
    "The first half drags badly.",
    "The dialogue is clumsy in places.",
    "The score is far too loud.",
    "Some of the effects look cheap.",
    "The opening twenty minutes are slow.",
    "A subplot about a stolen car goes nowhere.",
    "The editing is choppy at times.",
    "Several scenes run on for too long.",
    "The villain is a cardboard cut-out.",
    "The lighting is so dim that you can hardly see the faces.",
    "The comic relief falls flat.",
    "Two of the supporting actors seem bored.",
    "The script leans on clichés.",
    "The middle section loses its way.",
    "The romance feels forced.",
    "The accents are all over the place.",
    "The flashbacks are confusing.",
    "The camera shakes for no reason.",
    "The sound mix buries half the lines.",
    "The costumes look like they came from a party shop.",
)
PRAISES = (
    "The photography is lovely.",
    "The lead actor gives a fine performance.",
    "The costumes are gorgeous.",
    "The opening scene is striking.",
    "The score is beautiful.",
    "The sets are rich and detailed.",
    "The supporting cast is strong.",
    "A few of the jokes are genuinely funny.",
    "The premise is intriguing.",
    "The location shooting is impressive.",
    "The first act sets things up nicely.",
    "The young actress is a real find.",
    "The editing is crisp.",
    "The period detail is convincing.",
    "The dialogue has some sharp lines.",
    "The car chase is well staged.",
    "The colours are vivid.",
    "The director clearly has talent.",
    "The soundtrack has some great songs.",
    "The make-up work is excellent.",
)
POS_VERDICTS = (
    "But in the end it is a wonderful film, and I loved it.",
    "Still, I loved every minute of it and would watch it again.",
    "Despite all that, this is one of the best films of the year.",
    "Even so, it won me over completely; it is a must-see.",
    "None of that matters: the film is a triumph, and I recommend it warmly.",
    "Yet the whole is far greater than its parts, and I adored it.",
    "But the movie is really moving, and I left the cinema smiling.",
    "Overall, though, it is a gem and well worth your time.",
    "All the same, I enjoyed it enormously and recommend it to everyone.",
    "In spite of this, it is a beautiful, powerful film that I will treasure.",
)
NEG_VERDICTS = (
    "But the movie is really boring.",
    "Still, I found the whole thing tedious and would not watch it again.",
    "Despite all that, it is a waste of two hours.",
    "In the end it just does not work, and I was bored stiff.",
    "Overall, I cannot recommend it; it is a dull, lifeless film.",
    "Yet the whole is far less than its parts, and I hated it.",
    "But the story is a mess, and I could hardly wait for it to end.",
    "All the same, it is a dreadful film and I regret paying for it.",
    "None of that saves it: the film is a tedious failure.",
    "In spite of this, it is one of the worst films I have seen this year.",
)

# (expanded, contracted) pairs for the contraction test; a base text uses one form of each
CONTRACTIONS = (
    ("it is", "it's"), ("It is", "It's"), ("I am", "I'm"), ("do not", "don't"),
    ("does not", "doesn't"), ("was not", "wasn't"), ("I have", "I've"), ("they are", "they're"),
    ("will not", "won't"), ("cannot", "can't"), ("I would", "I'd"), ("you will", "you'll"),
    ("there is", "there's"), ("There is", "There's"), ("that is", "that's"), ("That is", "That's"),
    ("did not", "didn't"), ("would not", "wouldn't"), ("is not", "isn't"), ("you are", "you're"),
    ("I will", "I'll"), ("We have", "We've"),
)  # fmt: skip

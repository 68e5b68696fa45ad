"""The watch-rule language: parse, validate, compile into an index, match, explain.

``language`` (the rules and how they are read), ``evaluation`` (whether and why a rule
matches a document), ``indexing`` (``CompiledRules``: many rules matched at once);
``ruleset`` and ``lint`` work on a whole rule set. Pure core: imports no Kafka, Redis,
HTTP or config reader. Entry points::

    from newsalert.config import load_config
    compiled = load_config(path, env=os.environ).rules.compile()
    matches = compiled.match(Document.from_article(article))
"""

from newsalert.rules.evaluation.document import Document, FieldText
from newsalert.rules.evaluation.results import RuleMatch
from newsalert.rules.indexing.index import CompiledRules
from newsalert.rules.language.model import Rule, Term
from newsalert.rules.language.problems import Problem, RuleFileError
from newsalert.rules.ruleset import RuleSet

__all__ = [
    "CompiledRules",
    "Document",
    "FieldText",
    "Problem",
    "Rule",
    "RuleFileError",
    "RuleMatch",
    "RuleSet",
    "Term",
]

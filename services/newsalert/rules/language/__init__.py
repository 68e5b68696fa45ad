"""The watch-rule language: the rule model and how a rule is read and checked.

``model`` (rules, terms, locations), ``parse`` (rule mappings to rules), ``query`` (the
query-string syntax), ``keywords`` (one keyword to terms), ``limits`` (what a rule file
may cost) and ``problems`` (the positioned errors every reader reports).
"""

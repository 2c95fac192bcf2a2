"""The name a repository was declared with, under WORKSPACE and under bzlmod alike."""

def apparent_repo_name(rctx):
    """The name the user gave the repository (`gpt2`), as its own BUILD files must spell it.

    Under WORKSPACE `rctx.name` is that name. Under bzlmod it is the canonical name, e.g.
    `_main~_repo_rules~gpt2` (Bazel 7) or `+_repo_rules+gpt2` (Bazel 8), which a label with
    a single `@` cannot name and Bazel 4.2.3 cannot parse with `@@`; the declared name is
    its last part (neither `~` nor `+` is allowed in a WORKSPACE repository name).
    """
    return rctx.name.split("~")[-1].split("+")[-1]

def unique_tags(module_ctx, tag_name, name_attr, what):
    """Every `tag_name` tag of every module using a module extension, in module order.

    Fails when two tags give one repository name (their `name_attr`), from one module or
    from two: the second would silently replace the first's repositories. `what` names
    the attribute in the message, e.g. `pip.parse: hub_name`.
    """
    seen = {}
    tags = []
    for mod in module_ctx.modules:
        for tag in getattr(mod.tags, tag_name):
            name = getattr(tag, name_attr)
            if name in seen:
                fail("%s %r is declared twice (by %s and %s): give each its own name" % (what, name, seen[name], mod.name))
            seen[name] = mod.name
            tags.append(tag)
    return tags

"""Labels in messages, as the user writes them under WORKSPACE and under bzlmod alike."""

def display_label(label):
    """`//pkg:name` for a main-repository label, else the label as Bazel prints it.

    Bazel 7 prints a main-repository label as `@@//pkg:name`; Bazel 4.2.3 as `//pkg:name`,
    which this returns under both, so messages (and the files that record a label) read
    the same whichever Bazel built them.
    """
    if label.workspace_name == "":
        return "//%s:%s" % (label.package, label.name)
    return str(label)

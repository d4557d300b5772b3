from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`{{ row.cells|get_item:column }}`: a dict lookup with a variable key."""
    return mapping.get(key) if mapping is not None else None

"""Pure data: the wire description and the compiler's intermediate representation."""

/* Shell lines that need no shell: a `run` line of plain words whose first
 * word is not a builtin or keyword runs the same without /bin/sh, as make(1)
 * runs such recipe lines itself (one fork and exec less). */
#ifndef DAGEXEC_SHLINE_H
#define DAGEXEC_SHLINE_H

/* The words of line when the shell would only split it on blanks and run
 * the first word as a program: every byte a letter, a digit, a blank or one
 * of "_-./,:+@%=", at least one word, no '=' in the first (an assignment),
 * and the first not a word the shell runs itself (cd, echo, exec, if, true,
 * ...). A NULL-terminated array to free with shline_free, or NULL when the
 * line needs the shell. */
char **shline_words(const char *line);
/* Free what shline_words returned; NULL is fine. */
void shline_free(char **words);

#endif

/* placeholder: written in issue 2 */

// Prints, for each line of standard input, the line and its lower-case form as Crowd's
// IdentifierUtils folds user and group names (String.toLowerCase(Locale.ENGLISH)), separated
// by a tab, both as Java escapes of their UTF-16 units so that the file survives any editor.
//
//   java JavaLower.java < names.txt > java-lower.txt
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

public class JavaLower {
    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x21 && c < 0x7f && c != '\\') {
                b.append(c);
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("# java " + System.getProperty("java.version") + ": name <TAB> name.toLowerCase(Locale.ENGLISH)");
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            System.out.println(escape(line) + "\t" + escape(line.toLowerCase(Locale.ENGLISH)));
        }
    }
}

// The reference for the quartz differential test: Quartz 2.3.2's own CronExpression (Debian's
// libquartz2-java). Reads cases from stdin, one per line: <id> TAB <zone> TAB <afterMs> TAB <count> TAB <expr>.
// Prints one line per case: <id> TAB ok TAB <ms>,<ms>,... (at most <count> next fire times, fewer when the
// expression stops firing) or <id> TAB err TAB <Quartz's message>. Quartz loops forever on a few accepted
// forms (0W): a case still running after 3 s prints <id> TAB hang and the process exits with status 3, so
// the caller restarts it after that case. Run as a single-file source launch:
//   java -cp /usr/share/java/quartz2.jar QuartzReference.java < cases.tsv
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.util.Date;
import java.util.TimeZone;
import org.quartz.CronExpression;

public class QuartzReference {
  static volatile String current = null;
  static volatile long since = 0;

  public static void main(String[] args) throws Exception {
    Thread watchdog = new Thread(() -> {
      while (true) {
        try { Thread.sleep(250); } catch (InterruptedException e) { return; }
        String id = current;
        if (id != null && System.nanoTime() - since > 3_000_000_000L) {
          System.out.println(id + "\thang\t");
          System.out.flush();
          Runtime.getRuntime().halt(3);
        }
      }
    });
    watchdog.setDaemon(true);
    watchdog.start();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    PrintWriter out = new PrintWriter(System.out);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      String[] f = line.split("\t", 5);
      since = System.nanoTime();
      current = f[0];
      StringBuilder sb = new StringBuilder(f[0]).append('\t');
      try {
        CronExpression cron = new CronExpression(f[4]);
        cron.setTimeZone(TimeZone.getTimeZone(f[1]));
        long after = Long.parseLong(f[2]);
        int count = Integer.parseInt(f[3]);
        StringBuilder fires = new StringBuilder();
        Date t = new Date(after);
        for (int i = 0; i < count; i++) {
          t = cron.getNextValidTimeAfter(t);
          if (t == null) break;
          if (i > 0) fires.append(',');
          fires.append(t.getTime());
        }
        sb.append("ok\t").append(fires);
      } catch (Throwable e) {
        // Quartz throws ParseException for bad syntax; a few accepted forms throw at evaluation time
        sb.append("err\t").append(String.valueOf(e.getMessage()).replace('\t', ' ').replace('\n', ' '));
      }
      current = null;
      out.println(sb);
      out.flush();
    }
    out.flush();
  }
}

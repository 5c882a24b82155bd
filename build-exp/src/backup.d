build-exp/src/backup.o: src/backup.c src/backup.h src/log.h src/util.h
src/backup.h:
src/log.h:
src/util.h:
